/**
 * Where a benchmark run's CPU went. Every process's CPU time (user + system, all its threads) is
 * read from /proc twice a second and summed by the part of the system it belongs to (Kafka's
 * broker, the registry, the coordinator, the workers, Flower), over a window of the run.
 *
 * On this project's two shared cores that sum is a budget every system in the comparison draws
 * from, training included: a run that already uses both cores can go faster only by spending less
 * CPU per update, not by overlapping more. CPU time per update, beside updates a second, says how
 * far a system is from that limit and what its orchestration costs next to the training it serves.
 *
 * On a virtual machine the hypervisor may also run other guests on those cores: the time it takes
 * from this one (steal, in /proc/stat) is recorded beside, as the cores a run lost. A comparison
 * whose runs lost a large share of the cores, or very different shares, is not steady.
 *
 * The arithmetic is pure (`cpuOfWindow`); `CpuMeter` is the thin part that reads /proc (Linux; on
 * other systems it records nothing and the figures are absent).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FederationRun } from '../lib/run/federation.js';
import { median, table } from './common.js';

export const ROLES = ['broker', 'registry', 'coordinator', 'workers', 'flower', 'other'] as const;
export type Role = (typeof ROLES)[number];

/** Which part of a run a process is, by its command line (arguments joined by spaces). */
export function roleOf(commandLine: string): Role {
  if (commandLine.includes('kafka.Kafka')) return 'broker';
  if (commandLine.includes('quarkus-run.jar')) return 'registry';
  if (commandLine.includes('services/coordinator/')) return 'coordinator';
  if (commandLine.includes('python-worker/worker.py') || commandLine.includes('services/worker/'))
    return 'workers';
  if (commandLine.includes('flower/run.py')) return 'flower';
  return 'other';
}

export interface ProcessTime {
  readonly pid: number;
  /** When the process started (ticks since boot): a pid reused by a new process is a new process. */
  readonly startTicks: number;
  /** CPU time so far, user + system, in clock ticks. */
  readonly cpuTicks: number;
  readonly role: Role;
}

export interface CpuSnapshot {
  readonly atMs: number;
  readonly processes: readonly ProcessTime[];
  /** Ticks the hypervisor has taken from all this machine's cores since boot (absent if unread). */
  readonly stolenTicks?: number;
}

export interface CpuOfWindow {
  /** Mean cores in use over the window, by role, and in all. */
  readonly cores: Record<Role, number>;
  readonly totalCores: number;
  /** Mean cores the hypervisor took from the machine over the window; null when not recorded. */
  readonly stolenCores?: number | null;
  readonly seconds: number;
}

/**
 * Linux reports /proc times in USER_HZ ticks, 100 a second on every architecture Node runs on
 * (the kernel's own HZ is hidden behind it).
 */
export const TICKS_PER_SECOND = 100;

/**
 * Mean cores per role between `fromMs` and `toMs`: the CPU each process gained between the first
 * snapshot at or after `fromMs` and the last at or before `toMs`, over that span. A process seen
 * only at the end counts from its first snapshot inside the window (CPU it spent before is not
 * attributable); one gone before the end counts up to its last snapshot. Null when fewer than two
 * snapshots fall in the window.
 */
export function cpuOfWindow(
  snapshots: readonly CpuSnapshot[],
  fromMs: number,
  toMs: number,
  ticksPerSecond = TICKS_PER_SECOND,
): CpuOfWindow | null {
  const inside = snapshots.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  const first = inside[0];
  const last = inside.at(-1);
  if (!first || !last || last.atMs <= first.atMs) return null;
  const key = (p: ProcessTime) => `${p.pid}@${p.startTicks}`;
  const firstSeen = new Map<string, ProcessTime>();
  const lastSeen = new Map<string, ProcessTime>();
  for (const snapshot of inside)
    for (const p of snapshot.processes) {
      if (!firstSeen.has(key(p))) firstSeen.set(key(p), p);
      lastSeen.set(key(p), p);
    }
  const seconds = (last.atMs - first.atMs) / 1000;
  const cores = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>;
  for (const [k, end] of lastSeen) {
    const start = firstSeen.get(k) ?? end;
    cores[end.role] += (end.cpuTicks - start.cpuTicks) / ticksPerSecond / seconds;
  }
  const totalCores = ROLES.reduce((sum, r) => sum + cores[r], 0);
  const stolenCores =
    first.stolenTicks === undefined || last.stolenTicks === undefined
      ? null
      : (last.stolenTicks - first.stolenTicks) / ticksPerSecond / seconds;
  return { cores, totalCores, stolenCores, seconds };
}

export interface RunCpu extends CpuOfWindow {
  readonly updatesPerSecond: number;
  /** CPU time of every process on the machine per update folded, in ms. */
  readonly cpuMsPerUpdate: number;
}

/**
 * How fast a count grew between two times: from the first point at or after `from` to the last
 * at or before `to` (points in time order). Null when fewer than two points fall between.
 */
export function rateBetween(
  points: readonly { readonly seconds: number; readonly count: number }[],
  from: number,
  to: number,
): number | null {
  const inside = points.filter((p) => p.seconds >= from && p.seconds <= to);
  const first = inside[0];
  const last = inside.at(-1);
  if (!first || !last || last.seconds <= first.seconds) return null;
  return (last.count - first.count) / (last.seconds - first.seconds);
}

/** A window's CPU per update, given the updates a second folded over it. */
export function perUpdate(cpu: CpuOfWindow | null, updatesPerSecond: number | null): RunCpu | null {
  if (!cpu || !updatesPerSecond || updatesPerSecond <= 0) return null;
  return { ...cpu, updatesPerSecond, cpuMsPerUpdate: (cpu.totalCores / updatesPerSecond) * 1000 };
}

/**
 * A run's CPU per update between `from` and `to` seconds of its own clock, which started at
 * `clockZeroMs`; `counts` are the updates folded by then, as the run recorded them.
 */
export function cpuPerUpdate(
  snapshots: readonly CpuSnapshot[],
  clockZeroMs: number,
  from: number,
  to: number,
  counts: readonly { readonly seconds: number; readonly count: number }[],
): RunCpu | null {
  const cpu = cpuOfWindow(snapshots, clockZeroMs + from * 1000, clockZeroMs + to * 1000);
  return perUpdate(cpu, rateBetween(counts, from, to));
}

/**
 * A Tributary run's CPU per update, from a second after its first task (start-up apart) to the
 * coordinator's exit. The report's clock starts as the coordinator does, a moment after its spawn
 * (the clock taken here): the second's margin covers the difference.
 */
export function cpuOfFederation(snapshots: readonly CpuSnapshot[], run: FederationRun): RunCpu | null {
  const curve = run.report.accuracyCurve.map((p) => ({ seconds: p.seconds, count: p.updatesAccepted }));
  const from = (run.report.trainingStartedSeconds ?? 0) + 1;
  return cpuPerUpdate(snapshots, run.startedAtMs, from, run.processSeconds - 0.5, curve);
}

/**
 * Markdown: each system's median over its runs of the cores each part used, their sum, updates a
 * second and CPU per update, then a blank line. Empty when no run has figures (saved before they
 * were recorded).
 */
export function cpuSection(
  rows: readonly { system: string; runs: readonly (RunCpu | null | undefined)[] }[],
): string[] {
  const measured = rows
    .map((r) => ({ system: r.system, runs: r.runs.filter((c): c is RunCpu => !!c) }))
    .filter((r) => r.runs.length > 0);
  if (measured.length === 0) return [];
  const shown = ROLES.filter((role) => measured.some((r) => r.runs.some((c) => c.cores[role] >= 0.005)));
  const stolen = (runs: readonly RunCpu[]) =>
    runs.map((c) => c.stolenCores).filter((x): x is number => typeof x === 'number');
  const showStolen = measured.some((r) => stolen(r.runs).length > 0);
  const row = (system: string, runs: readonly RunCpu[]) => {
    const m = (pick: (c: RunCpu) => number, digits: number) => median(runs.map(pick)).toFixed(digits);
    const lost = stolen(runs);
    const lostCells = lost.length
      ? [`${median(lost).toFixed(2)} (${Math.min(...lost).toFixed(2)}–${Math.max(...lost).toFixed(2)})`]
      : ['–'];
    return [
      system,
      ...shown.map((role) => m((c) => c.cores[role], 2)),
      m((c) => c.totalCores, 2),
      m((c) => c.updatesPerSecond, 0),
      m((c) => c.cpuMsPerUpdate, 1),
      ...(showStolen ? lostCells : []),
    ];
  };
  const headers = shown.map((role) => `${role} cores`);
  return [
    'Where the CPU went (every process on the machine, read from /proc twice a second), from a second after the first task to the end of each run; medians over runs. On two cores a system using both can go faster only by spending less CPU per update:',
    ...(showStolen
      ? [
          '',
          "Cores stolen: what the hypervisor took from this virtual machine's cores for others (steal in /proc/stat), median (least–most) over runs. Runs that lost much, or very different amounts, are not a steady comparison.",
        ]
      : []),
    '',
    table(
      [
        'system',
        ...headers,
        'all cores',
        'updates a second',
        'CPU ms per update',
        ...(showStolen ? ['cores stolen'] : []),
      ],
      measured.map((r) => row(r.system, r.runs)),
    ),
    '',
  ];
}

/** One process's CPU time from the text of /proc/<pid>/stat, or null if it cannot be read. */
export function parseStat(pid: number, stat: string, commandLine: string): ProcessTime | null {
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Counting from field 3 (state) as index 0: utime 14 → 11, stime 15 → 12, starttime 22 → 19.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const startTicks = Number(fields[19]);
  if (![utime, stime, startTicks].every(Number.isFinite)) return null;
  return { pid, startTicks, cpuTicks: utime + stime, role: roleOf(commandLine) };
}

/**
 * Steal ticks of all cores together from the text of /proc/stat (its `cpu` line's eighth value),
 * or undefined when the line or the field is missing (kernels before 2.6.11).
 */
export function parseStolenTicks(procStat: string): number | undefined {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  const steal = Number(line?.trim().split(/\s+/)[8]);
  return Number.isFinite(steal) ? steal : undefined;
}

function readStolenTicks(): number | undefined {
  try {
    return parseStolenTicks(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

function readProcesses(): ProcessTime[] {
  const processes: ProcessTime[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const time = parseStat(Number(entry), stat, commandLine);
      if (time) processes.push(time);
    } catch {
      // The process ended between listing and reading: its last snapshot stands.
    }
  }
  return processes;
}

const snapshotNow = (): CpuSnapshot => ({
  atMs: Date.now(),
  processes: readProcesses(),
  stolenTicks: readStolenTicks(),
});

/** Snapshots every process's CPU time every `intervalMs` while running (nothing off Linux). */
export class CpuMeter {
  private readonly snapshots: CpuSnapshot[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs = 500) {}

  start(): this {
    if (process.platform !== 'linux' || this.timer) return this;
    const take = () => this.snapshots.push(snapshotNow());
    take();
    this.timer = setInterval(take, this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops sampling (one last snapshot first) and returns what was recorded. */
  stop(): readonly CpuSnapshot[] {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.snapshots.push(snapshotNow());
    }
    return this.snapshots;
  }
}
