/**
 * `npm run bench -- failover`: how long a job stands still when its coordinator is SIGKILLed and a
 * new one starts at once (what a supervisor does). 20 virtual workers keep the job busy (synthetic
 * trainer, 200 ms per task, K = 4: a version every ~50 ms); 20 times: let it train 3 s, SIGKILL the
 * coordinator, start a new one, and time kill → the new coordinator's first new version (its
 * /status, polled every 50 ms), with the new process's own milestones from its log: checkpoint
 * restored, started (consumers joined), first version; and, read just before the next kill, when it
 * had taken over its predecessor's leases and loaded TensorFlow, and how many versions it made since
 * its first (what the load, which a restore puts after the job has resumed, costs the steps).
 * Writes bench/results/failover.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startStack, type Stack } from '../infra/stack/index.js';
import { PACKAGE_ROOT } from '../lib/run/processes.js';
import { startFederation, type ServiceProcess } from '../lib/testing/index.js';
import { writeLineChart } from '../lib/chart.js';
import { machine, median, RESULTS_DIR, table, writeResult } from './common.js';

const KILLS = Number(process.env.TRIBUTARY_FAILOVER_KILLS ?? 20);
const TASK = fileURLToPath(new URL('../examples/device-fleet/task.ts', import.meta.url));

interface Failover {
  readonly killedAtVersion: number;
  /** Seconds from the kill to each milestone of the new coordinator. */
  readonly recovered: number;
  readonly started: number;
  readonly nextVersion: number;
  readonly restoreSeconds: number;
  /** The new process's own start-up steps, seconds after the kill (its `startup-timing` line). */
  readonly steps: Record<string, number>;
  /** The version the new coordinator first reported. */
  readonly firstVersion: number;
  /**
   * Filled in before the next kill (the takeover runs beside the first steps): the predecessor's
   * leases it took over, and when it had (seconds after the kill; its `leases-adopted` line).
   */
  leasesAdopted?: number;
  leasesTakenOver?: number;
  /**
   * Filled in before the next kill: when the new process had loaded TensorFlow (after the job
   * resumed), and how many versions it made from its first one until then (about 3 s).
   */
  modelLoaded?: number;
  versionsAfter?: number;
}

/**
 * When the process started, in wall-clock ms: its `startup-timing` line gives seconds of its own
 * uptime per step, and the line's own time places the start. NaN before that line.
 */
function spawnedAtMs(p: ServiceProcess): number {
  const line = p.events('startup-timing').at(-1);
  const started = (line?.seconds as Record<string, number> | undefined)?.started;
  return line && started ? Date.parse(String(line.time)) - started * 1000 : Number.NaN;
}

/**
 * Each start-up step in seconds after the kill (the first, spawned, is what the supervisor and the
 * OS took), and how long each step of opening the job on Kafka took.
 */
function startupSteps(p: ServiceProcess, killedAt: number): Record<string, number> {
  const line = p.events('startup-timing').at(-1);
  const spawnedAt = spawnedAtMs(p);
  if (!line || !Number.isFinite(spawnedAt)) return {};
  const steps: Record<string, number> = { spawned: (spawnedAt - killedAt) / 1000 };
  // How long each step of opening the job on Kafka took (not after the kill: durations).
  const opening = (line.openingSteps ?? {}) as Record<string, number>;
  for (const [step, took] of Object.entries(opening)) steps[`opening.${step}`] = took;
  for (const [step, at] of Object.entries(line.seconds as Record<string, number>))
    steps[step] = (spawnedAt - killedAt) / 1000 + at;
  return steps;
}

/** Seconds after the kill at which the process had loaded TensorFlow (its `task-loaded` line). */
function modelLoadedAt(p: ServiceProcess, killedAt: number): number {
  const loaded = p.events('task-loaded').at(-1);
  if (!loaded) return Number.NaN;
  return (spawnedAtMs(p) - killedAt) / 1000 + Number(loaded.loadedAtSeconds);
}

const logTime = (p: ServiceProcess, event: string) => {
  const line = p.events(event).at(-1);
  return line ? Date.parse(String(line.time)) : Number.NaN;
};

type StartFederation = typeof startFederation;

/**
 * The built package's startFederation (its services run as compiled JavaScript, as installed from
 * npm), built first; the clone's own runs them from TypeScript through tsx.
 */
async function packagedStartFederation(): Promise<StartFederation> {
  const built = spawnSync('npm', ['run', 'build'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const testing = (await import(
    pathToFileURL(join(PACKAGE_ROOT, 'dist', 'lib', 'testing', 'index.js')).href
  )) as { startFederation: StartFederation };
  return testing.startFederation;
}

export async function runFailover(): Promise<void> {
  const stack = await startStack({
    mode: 'local',
    onProgress: (m) => console.log(JSON.stringify({ bench: 'failover', stack: m })),
  });
  const runs: { label: string; results: Failover[] }[] = [];
  try {
    runs.push({
      label: 'built package (compiled JavaScript, as installed)',
      results: await measure(stack, await packagedStartFederation()),
    });
    runs.push({
      label: 'from source (TypeScript through tsx, a clone)',
      results: await measure(stack, startFederation),
    });
  } finally {
    await stack.stop();
  }
  report(runs);
}

async function measure(stack: Stack, start: StartFederation): Promise<Failover[]> {
  const results: Failover[] = [];
  const federation = await start({
    stack,
    task: TASK,
    workers: 1,
    coordinator: {
      TRIBUTARY_CONCURRENCY: '20',
      TRIBUTARY_BUFFER_K: '4',
      TRIBUTARY_EVALUATE_EVERY: '1000000',
      TRIBUTARY_TARGET_ACCURACY: '0',
      TRIBUTARY_MAX_WALL_SECONDS: '3600',
      TRIBUTARY_TASK_DEADLINE_MS: '20000',
    },
    worker: () => ({
      TRIBUTARY_WORKER_ID: 'fleet',
      TRIBUTARY_SILO: 'site',
      TRIBUTARY_VIRTUAL_WORKERS: '20',
      TRIBUTARY_SYNTHETIC_TRAIN_MS: '200',
      TRIBUTARY_LOG_LEVEL: 'warn',
    }),
  });
  try {
    await federation.waitForVersion(20, { timeoutMs: 180_000 });
    let previous: { result: Failover; coordinator: ServiceProcess; killedAt: number } | null = null;
    for (let i = 0; i <= KILLS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const killedAtVersion = ((await federation.status())?.version as number | undefined) ?? 0;
      if (previous) {
        previous.result.versionsAfter = killedAtVersion - previous.result.firstVersion;
        previous.result.modelLoaded = modelLoadedAt(previous.coordinator, previous.killedAt);
        const adopted = previous.coordinator.events('leases-adopted').at(-1);
        previous.result.leasesAdopted = Number(adopted?.adopted ?? Number.NaN);
        previous.result.leasesTakenOver =
          (logTime(previous.coordinator, 'leases-adopted') - previous.killedAt) / 1000;
      }
      if (i === KILLS) break;
      const killedAt = Date.now();
      const coordinator = await federation.restartCoordinator();
      let firstVersion: number;
      for (;;) {
        const version = (await federation.status())?.version as number | undefined;
        if (version !== undefined && version > killedAtVersion) {
          firstVersion = version;
          break;
        }
        if (!coordinator.running)
          throw new Error(`the new coordinator exited:\n${coordinator.output.slice(-2000)}`);
        if (Date.now() - killedAt > 120_000) throw new Error('no new version 120 s after the kill');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const nextVersion = (Date.now() - killedAt) / 1000;
      const recoveredLine = coordinator.events('recovered').at(-1);
      const result: Failover = {
        killedAtVersion,
        recovered: (logTime(coordinator, 'recovered') - killedAt) / 1000,
        started: (logTime(coordinator, 'coordinator-started') - killedAt) / 1000,
        nextVersion,
        restoreSeconds: Number(recoveredLine?.readSeconds ?? Number.NaN),
        steps: startupSteps(coordinator, killedAt),
        firstVersion,
      };
      results.push(result);
      console.log(JSON.stringify({ bench: 'failover', kill: i + 1, ...result }));
      previous = { result, coordinator, killedAt };
    }
  } finally {
    await federation.stop();
  }
  return results;
}

const MILESTONES: readonly (readonly [string, (r: Failover) => number])[] = [
  ['process spawned', (r: Failover) => r.steps.spawned ?? Number.NaN],
  ['its modules loaded', (r: Failover) => r.steps.modulesLoaded ?? Number.NaN],
  ['task loaded', (r: Failover) => r.steps.taskLoaded ?? Number.NaN],
  [
    'job opened on Kafka (topics, schemas, fenced, checkpoint read)',
    (r: Failover) => r.steps.jobOpened ?? Number.NaN,
  ],
  [
    'TensorFlow loaded (a restore: after the job resumed)',
    (r: Failover) => r.modelLoaded ?? r.steps.tensorflowLoaded ?? Number.NaN,
  ],
  ...['connected', 'topics', 'schemas', 'fenced', 'checkpoint'].map(
    (step) =>
      [`  opening: ${step} (s it took)`, (r: Failover) => r.steps[`opening.${step}`] ?? Number.NaN] as const,
  ),
  ['checkpoint restored', (r: Failover) => r.recovered],
  ['  of which reading the checkpoint', (r: Failover) => r.restoreSeconds],
  [
    "predecessor's leases taken over (beside the first steps)",
    (r: Failover) => r.leasesTakenOver ?? Number.NaN,
  ],
  ['  how many', (r: Failover) => r.leasesAdopted ?? Number.NaN],
  ['started (consumers joined)', (r: Failover) => r.started],
  ['first new version (kill → next version)', (r: Failover) => r.nextVersion],
] as const;

/** Each kill's stand-still, per way of running the coordinator, against the 2-s goal (issue #17). */
function chart(runs: { label: string; results: Failover[] }[]): void {
  const short = (label: string) => label.replace(/ \(.*\)$/, '');
  const colours = ['#1f77b4', '#2ca02c'];
  const series = runs.flatMap((run, way) => [
    {
      label: `kill → next version, ${short(run.label)}`,
      points: run.results.map((r, i) => ({ x: i + 1, y: r.nextVersion })),
      colour: colours[way % colours.length],
    },
    {
      label: `kill → job opened, ${short(run.label)}`,
      points: run.results.map((r, i) => ({ x: i + 1, y: r.steps.jobOpened ?? Number.NaN })),
      colour: colours[way % colours.length],
      dashed: true,
    },
  ]);
  const highest = Math.max(...runs.flatMap((run) => run.results.map((r) => r.nextVersion)));
  writeLineChart(join(RESULTS_DIR, 'failover'), {
    title: 'Coordinator failover: seconds from SIGKILL, per kill',
    xLabel: 'kill',
    yLabel: 'seconds after the kill',
    yMin: 0,
    yMax: Math.max(2.5, Math.ceil(highest * 2) / 2),
    series: series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.y)) })),
    horizontalLines: [{ y: 2, label: 'goal: 2 s' }],
    notes: runs.map(
      (run) =>
        `${run.label}: next version median ${median(run.results.map((r) => r.nextVersion)).toFixed(2)} s, ` +
        `max ${Math.max(...run.results.map((r) => r.nextVersion)).toFixed(2)} s.`,
    ),
  });
}

export function report(runs: { label: string; results: Failover[] }[]): void {
  chart(runs);
  const stat = (results: Failover[], f: (r: Failover) => number) => {
    const xs = results.map(f).filter(Number.isFinite);
    return xs.length === 0 ? '–' : `${median(xs).toFixed(2)} / ${Math.max(...xs).toFixed(2)}`;
  };
  const rows = MILESTONES.map(([name, f]) => [name, ...runs.map((run) => stat(run.results, f))]);
  // What the model's load after the restore costs the steps that follow: versions made from the
  // first new one to the next kill (about 3 s), median / fewest.
  const after = (results: Failover[]) => {
    const xs = results.map((r) => r.versionsAfter ?? Number.NaN).filter(Number.isFinite);
    return xs.length === 0 ? '–' : `${median(xs)} / ${Math.min(...xs)}`;
  };
  rows.push(['versions in the ~3 s after the first (median / fewest)', ...runs.map((r) => after(r.results))]);
  const markdown = [
    '# Coordinator failover: SIGKILL → next version',
    '',
    `${KILLS} kills per way of running it; a new coordinator started at once after each (as a supervisor does); ` +
      'seconds after the kill, median / max. The job is opened on Kafka first; a restored job steps ' +
      'from its checkpoint and loads TensorFlow once it has resumed (its first evaluation, or 1.5 s ' +
      'after the job was opened). The last row counts versions from the first new one to the next kill.',
    '',
    table(['milestone', ...runs.map((r) => r.label)], rows),
  ].join('\n');
  writeResult(
    'failover',
    { machine: machine(), runs: runs.map((r) => ({ label: r.label, kills: r.results })) },
    markdown,
  );
  console.log(markdown);
}
