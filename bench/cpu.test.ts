import { describe, expect, it } from 'vitest';
import {
  CpuMeter,
  cpuOfWindow,
  cpuSection,
  parseStat,
  parseStolenTicks,
  perUpdate,
  rateBetween,
  roleOf,
  type CpuOfWindow,
  type CpuSnapshot,
  type ProcessTime,
} from './cpu.js';

describe('roleOf', () => {
  it('names each process of a run by its command line', () => {
    expect(roleOf('/usr/bin/java -Xmx768m kafka.Kafka /tmp/run/server.properties')).toBe('broker');
    expect(roleOf('/usr/lib/jvm/temurin/bin/java -jar /x/apicurio-3.3.3/quarkus-run.jar')).toBe('registry');
    expect(roleOf('/usr/bin/node --import tsx /repo/services/coordinator/main.ts')).toBe('coordinator');
    expect(roleOf('/usr/bin/node /repo/dist/services/coordinator/main.js')).toBe('coordinator');
    expect(roleOf('/venv/bin/python /repo/examples/python-worker/worker.py --data d')).toBe('workers');
    expect(roleOf('/usr/bin/node --import tsx /repo/services/worker/main.ts')).toBe('workers');
    expect(roleOf('/venv/bin/python /repo/bench/flower/run.py --clients 10')).toBe('flower');
    expect(roleOf('/usr/bin/node /repo/bench/run.ts tta-numpy')).toBe('other');
    expect(roleOf('')).toBe('other');
  });
});

describe('parseStat', () => {
  // /proc/<pid>/stat of a process whose name holds a space and a parenthesis.
  const stat =
    '4242 (tsx (watch) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 40 0 0 20 0 11 0 98765 1000 100 18446744073709551615';

  it('adds user and system time and keeps the start time, whatever the command name holds', () => {
    expect(parseStat(4242, stat, 'node services/coordinator/main.ts')).toEqual({
      pid: 4242,
      startTicks: 98765,
      cpuTicks: 290,
      role: 'coordinator',
    });
  });

  it('is null for text that is not a stat line', () => {
    expect(parseStat(1, 'gone', '')).toBeNull();
    expect(parseStat(1, '1 (x) S 1 2', '')).toBeNull();
  });
});

describe('cpuOfWindow', () => {
  const at = (pid: number, cpuTicks: number, role: ProcessTime['role'], startTicks = 1): ProcessTime => ({
    pid,
    startTicks,
    cpuTicks,
    role,
  });
  const snapshots: CpuSnapshot[] = [
    { atMs: 0, processes: [at(1, 0, 'broker'), at(2, 0, 'workers')] },
    { atMs: 1000, processes: [at(1, 50, 'broker'), at(2, 100, 'workers')] },
    { atMs: 2000, processes: [at(1, 100, 'broker'), at(2, 150, 'workers'), at(3, 500, 'coordinator')] },
    { atMs: 3000, processes: [at(1, 150, 'broker'), at(3, 540, 'coordinator')] },
    { atMs: 4000, processes: [at(1, 200, 'broker'), at(3, 580, 'coordinator')] },
  ];

  it('averages each role over the window, from the first snapshot inside it to the last', () => {
    const cpu = cpuOfWindow(snapshots, 1000, 4000);
    expect(cpu?.seconds).toBe(3);
    expect(cpu?.cores.broker).toBeCloseTo(0.5); // 150 ticks in 3 s
    // Gone after 2000 ms: the 50 ticks it had spent by its last snapshot, over the window.
    expect(cpu?.cores.workers).toBeCloseTo(50 / 100 / 3);
    // First seen at 2000 ms with 500 ticks spent before it: only the 80 after count.
    expect(cpu?.cores.coordinator).toBeCloseTo(80 / 100 / 3);
    expect(cpu?.cores.flower).toBe(0);
    expect(cpu?.totalCores).toBeCloseTo((150 + 50 + 80) / 100 / 3);
  });

  it('takes a reused pid for a new process', () => {
    const reused: CpuSnapshot[] = [
      { atMs: 0, processes: [at(7, 300, 'workers', 10)] },
      { atMs: 1000, processes: [at(7, 20, 'workers', 99)] },
      { atMs: 2000, processes: [at(7, 120, 'workers', 99)] },
    ];
    // The old process's 300 ticks and the new one's first 20 are not set against each other.
    expect(cpuOfWindow(reused, 0, 2000)?.cores.workers).toBeCloseTo(100 / 100 / 2);
  });

  it('counts the cores stolen over the window from the first snapshot inside it to the last', () => {
    const stolen = snapshots.map((s, i) => ({ ...s, stolenTicks: 1000 + i * i * 30 }));
    // 1000 + 30 at 1000 ms, 1000 + 480 at 4000 ms: 450 ticks in 3 s.
    expect(cpuOfWindow(stolen, 1000, 4000)?.stolenCores).toBeCloseTo(1.5);
    expect(cpuOfWindow(snapshots, 1000, 4000)?.stolenCores).toBeNull();
    // A snapshot that could not read /proc/stat at either end: unknown, not zero.
    const gap = stolen.map((s, i) => (i === 4 ? { atMs: s.atMs, processes: s.processes } : s));
    expect(cpuOfWindow(gap, 1000, 4000)?.stolenCores).toBeNull();
  });

  it('is null with fewer than two snapshots in the window', () => {
    expect(cpuOfWindow(snapshots, 1500, 1900)).toBeNull();
    expect(cpuOfWindow(snapshots, 4000, 5000)).toBeNull();
    expect(cpuOfWindow([], 0, 1)).toBeNull();
  });
});

describe('parseStolenTicks', () => {
  it("reads the steal field of /proc/stat's all-cores line", () => {
    const text = [
      'cpu  4705 356 584 3699 23 23 0 812 0 0',
      'cpu0 2000 100 300 1800 10 10 0 400 0 0',
      'intr 1234 0 0',
    ].join('\n');
    expect(parseStolenTicks(text)).toBe(812);
  });

  it('is undefined without the field or the line', () => {
    expect(parseStolenTicks('cpu  4705 356 584 3699 23 23 0\n')).toBeUndefined();
    expect(parseStolenTicks('cpu0 1 2 3 4 5 6 7 8 9\n')).toBeUndefined();
    expect(parseStolenTicks('')).toBeUndefined();
  });
});

describe('CpuMeter', () => {
  it.runIf(process.platform === 'linux')('sees this process spend CPU', async () => {
    const meter = new CpuMeter(20).start();
    const until = Date.now() + 120;
    let spin = 0;
    while (Date.now() < until) spin += Math.sqrt(spin + 1);
    await new Promise((r) => setTimeout(r, 30));
    const snapshots = meter.stop();
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    const mine = (s: CpuSnapshot) => s.processes.find((p) => p.pid === process.pid);
    const first = snapshots[0];
    const last = snapshots.at(-1);
    expect(first && mine(first)).toBeTruthy();
    expect(last && mine(last)?.cpuTicks).toBeGreaterThan((first && mine(first)?.cpuTicks) ?? Infinity);
    expect(spin).toBeGreaterThan(0);
    expect(last?.stolenTicks).toBeGreaterThanOrEqual(first?.stolenTicks ?? Infinity);
  });
});

describe('rateBetween', () => {
  const points = [0, 1, 2, 3, 4].map((seconds) => ({ seconds, count: seconds * seconds * 10 }));

  it('is the growth from the first point inside the window to the last', () => {
    expect(rateBetween(points, 0.5, 3.5)).toBe((90 - 10) / 2);
    expect(rateBetween(points, 0, 4)).toBe(160 / 4);
  });

  it('is null with fewer than two points inside', () => {
    expect(rateBetween(points, 1.5, 2.5)).toBeNull();
    expect(rateBetween([], 0, 10)).toBeNull();
  });
});

describe('perUpdate and cpuSection', () => {
  const window = (broker: number, workers: number): CpuOfWindow => ({
    cores: { broker, registry: 0, coordinator: 0.5, workers, flower: 0, other: 0.001 },
    totalCores: broker + 0.5 + workers + 0.001,
    seconds: 20,
  });

  it('divides all the cores by the updates a second', () => {
    const cpu = perUpdate(window(0.5, 0.999), 50);
    expect(cpu?.cpuMsPerUpdate).toBeCloseTo(40);
    expect(perUpdate(window(0.5, 1), 0)).toBeNull();
    expect(perUpdate(null, 50)).toBeNull();
  });

  it('tabulates medians per system, leaving out parts no run used and runs without figures', () => {
    const runs = [perUpdate(window(0.4, 1), 50), perUpdate(window(0.6, 1), 100), null];
    const lines = cpuSection([
      { system: 'Tributary', runs },
      { system: 'old runs', runs: [undefined] },
    ]).join('\n');
    expect(lines).toContain('| system | broker cores | coordinator cores | workers cores | all cores |');
    expect(lines).not.toContain('registry cores');
    expect(lines).not.toContain('old runs');
    // Broker 0.4 and 0.6 → 0.50; all 1.901 and 2.101 → 2.00; 75 updates a second; 38.0 and 21.0 ms.
    expect(lines).toContain('| Tributary | 0.50 | 0.50 | 1.00 | 2.00 | 75 | 29.5 |');
    expect(cpuSection([{ system: 'none', runs: [null] }])).toEqual([]);
  });

  it('adds the cores stolen, median (least–most), when any run recorded them', () => {
    const lost = (stolenCores: number | null) => perUpdate({ ...window(0.5, 1), stolenCores }, 50);
    const lines = cpuSection([
      { system: 'Flower', runs: [lost(0.1), lost(0.7), lost(0.3)] },
      { system: 'old runs', runs: [lost(null)] },
    ]).join('\n');
    expect(lines).toContain('| CPU ms per update | cores stolen |');
    expect(lines).toContain('| 0.30 (0.10–0.70) |');
    expect(lines).toMatch(/\| old runs \|.*\| – \|/);
    expect(lines).toContain('steal in /proc/stat');
    const without = cpuSection([{ system: 'Flower', runs: [lost(null)] }]).join('\n');
    expect(without).not.toContain('stolen');
  });
});
