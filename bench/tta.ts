/**
 * Time to accuracy: FedBuff against synchronous FedAvg (the same code with K = cohort and maximum
 * staleness 0), as real processes over Kafka, on the same data, Dirichlet(0.5) partition, seeds and
 * heavy-tailed client delays (log-normal multipliers, σ = 0.6, plus one worker in ten 10× slower).
 * Each run gets the same wall-clock budget; times and updates to 0.85 and 0.90 come from the
 * accuracy curve, timed from the first task leased. Goal: FedBuff reaches the target ≥ 2× sooner, final accuracy within 1 point.
 *
 * `tta-numpy` runs the same with the protocol's Python worker (examples/python-worker: NumPy) in
 * place of the TypeScript workers (TF.js): Tributary with the training engine Flower's clients use.
 */
import { join } from 'node:path';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import { benchmarkFleet, benchmarkRun, Federation } from '../lib/run/federation.js';
import { pythonWorkerInterpreter } from '../examples/python-worker/interpreter.js';
import type { RunReport } from '../services/coordinator/report.js';
import type { DelayBasis } from '../services/worker/delay.js';
import {
  machine,
  median,
  MNIST_TASK,
  pythonThreads,
  requireResult,
  RESULTS_DIR,
  stageSections,
  table,
  writeResult,
} from './common.js';
import { trainingCurve } from './curves.js';
import { cpuOfFederation, cpuSection, CpuMeter, type RunCpu } from './cpu.js';
import { exportMnistTask, pythonWorker } from './exported-task.js';

/** The task both tta and flower run (BENCH_TTA_SEEDS, _WORKERS, _SECONDS): one definition, so they match. */
export const SEEDS = (process.env.BENCH_TTA_SEEDS ?? '1,2,3').split(',').map(Number);
export const WORKERS = Number(process.env.BENCH_TTA_WORKERS ?? 10);
export const BUDGET_SECONDS = Number(process.env.BENCH_TTA_SECONDS ?? 120);
/**
 * One unmeasured FedBuff run first, on the stack the measured runs share: Kafka's broker is a JVM,
 * and its JIT compiler took 0.25–0.47 of a core for about the first minute of traffic after start,
 * 0.01–0.09 after (measured with NumPy workers); a production broker is long past that. Flower's
 * processes have nothing to warm.
 */
export const WARM_UP_SECONDS = Number(process.env.BENCH_TTA_WARM_UP_SECONDS ?? 30);
/**
 * What a simulated slow site's multiplier scales (BENCH_DELAY_BASIS): `cpu`, training's CPU time, or
 * `wall`. Every process here shares two cores, so a wall-clock basis also multiplies the time a
 * worker waited for a core: by 10 at the slow site, which sets a synchronous round's length.
 */
export const DELAY_BASIS = delayBasisOf(process.env.BENCH_DELAY_BASIS);

function delayBasisOf(value: string | undefined): DelayBasis {
  if (value === undefined || value === '' || value === 'cpu') return 'cpu';
  if (value === 'wall') return 'wall';
  throw new Error(`BENCH_DELAY_BASIS: must be cpu or wall, got "${value}"`);
}
/** Tasks in flight: FedBuff's concurrency, FedAvg's cohort, Flower's clients per round. */
export const CONCURRENCY = 4;
export const TARGETS = [0.85, 0.9];

const STRATEGIES = {
  fedbuff: {
    TRIBUTARY_STRATEGY: 'fedbuff',
    TRIBUTARY_CONCURRENCY: String(CONCURRENCY),
    TRIBUTARY_BUFFER_K: '2',
  },
  fedavg: { TRIBUTARY_STRATEGY: 'fedavg', TRIBUTARY_CONCURRENCY: String(CONCURRENCY) },
} as const;
type Strategy = keyof typeof STRATEGIES;
/** Whose training the workers run: Tributary's TypeScript worker (TF.js), or the Python worker (NumPy). */
export type Engine = 'tfjs' | 'numpy';
const RESULT_NAMES: Record<Engine, string> = { tfjs: 'tta', numpy: 'tta-numpy' };
const STRATEGY_LABELS: Record<Strategy, string> = {
  fedbuff: 'FedBuff (K = 2)',
  fedavg: `FedAvg (K = cohort = ${CONCURRENCY})`,
};

interface Reach {
  /** Seconds since the first task was leased: the time to accuracy the goal is about. */
  readonly seconds: number;
  /** Seconds since the coordinator process started (adds start-up: TF.js, Kafka, version 0). */
  readonly secondsFromStart: number;
  readonly updates: number;
  readonly version: number;
}

function firstReach(report: RunReport, target: number): Reach | null {
  const start = report.trainingStartedSeconds ?? 0;
  const point = report.accuracyCurve.find((p) => (p.accuracy ?? 0) >= target);
  return point
    ? {
        seconds: point.seconds - start,
        secondsFromStart: point.seconds,
        updates: point.updatesAccepted,
        version: point.version,
      }
    : null;
}

/** Median seconds between consecutive versions: a synchronous round's length. */
function medianRoundSeconds(report: RunReport): number {
  const curve = report.accuracyCurve;
  return median(curve.slice(1).map((p, i) => p.seconds - (curve[i]?.seconds ?? 0)));
}

type Run = {
  strategy: Strategy;
  seed: number;
  report: RunReport;
  reach: Record<string, Reach | null>;
  /** Absent in results saved before it was recorded; null off Linux. */
  cpu?: RunCpu | null;
};

/** The Python worker for silo `index` of `dataDir`, with the fleet's delay model as its flags. */
export async function runTimeToAccuracy(engine: Engine = 'tfjs'): Promise<void> {
  const bench = RESULT_NAMES[engine];
  const python = engine === 'numpy' ? pythonWorkerInterpreter() : null;
  const stack = await startStack({
    onProgress: (message) => console.log(JSON.stringify({ bench, stack: message })),
  });
  const runs: Run[] = [];
  const dataDirs = new Map<number, string>();
  const runOne = async (strategy: Strategy, seed: number, budgetSeconds: number, label: string) => {
    if (python && !dataDirs.has(seed)) dataDirs.set(seed, await exportMnistTask(seed, WORKERS));
    const dataDir = dataDirs.get(seed) ?? '';
    const runId = `${label}-${strategy}-s${seed}-${Date.now().toString(36)}`;
    const federation = new Federation({
      brokers: stack.brokers,
      registryUrl: stack.registryUrl,
      secureWith: stack.security ? stack : null,
      runId,
      jobId: runId,
      runDir: join(RESULTS_DIR, `${bench}-runs`, runId),
      task: MNIST_TASK,
      taskConfig: { dataSeed: seed },
      workers: WORKERS,
      coordinatorEnv: {
        ...STRATEGIES[strategy],
        ...benchmarkRun(seed, budgetSeconds),
        // No lease until the whole fleet has checked in, as Flower's first round waits for all
        // its clients (min_available_clients): both clocks start with every site online.
        TRIBUTARY_MIN_WORKERS: String(WORKERS),
      },
      workerEnv: python
        ? () => pythonThreads(WORKERS + 1)
        : (i) => ({ ...benchmarkFleet(seed)(i), TRIBUTARY_DELAY_BASIS: DELAY_BASIS }),
      workerCommand: python ? pythonWorker(python, dataDir, seed, DELAY_BASIS) : undefined,
    });
    const meter = new CpuMeter().start();
    const run = await federation.run();
    return { report: run.report, cpu: cpuOfFederation(meter.stop(), run) };
  };
  try {
    if (WARM_UP_SECONDS > 0) {
      const first = SEEDS[0] ?? 1;
      const { report } = await runOne('fedbuff', first, WARM_UP_SECONDS, `${bench}-warm-up`);
      console.log(JSON.stringify({ bench, warmUp: { seconds: WARM_UP_SECONDS, versions: report.versions } }));
    }
    for (const seed of SEEDS) {
      for (const strategy of Object.keys(STRATEGIES) as Strategy[]) {
        const { report, cpu } = await runOne(strategy, seed, BUDGET_SECONDS, bench);
        const reach = Object.fromEntries(TARGETS.map((t) => [String(t), firstReach(report, t)]));
        runs.push({ strategy, seed, report, reach, cpu });
        console.log(
          JSON.stringify({
            bench,
            strategy,
            seed,
            finalAccuracy: report.finalAccuracy,
            trainingStartedSeconds: report.trainingStartedSeconds,
            reach,
            versions: report.versions,
            updates: report.updatesAccepted,
            cores: cpu?.totalCores,
            cpuMsPerUpdate: cpu?.cpuMsPerUpdate,
          }),
        );
      }
    }
  } finally {
    await stack.stop();
  }
  writeTimeToAccuracy(runs, {
    engine,
    machine: machine(),
    stackMode: stack.mode,
    seeds: SEEDS,
    workers: WORKERS,
    minWorkers: WORKERS,
    budgetSeconds: BUDGET_SECONDS,
    delayBasis: DELAY_BASIS,
    warmUpSeconds: WARM_UP_SECONDS,
    stepClient: process.env.TRIBUTARY_KAFKA_CLIENT === 'librdkafka' ? 'librdkafka' : 'kafkajs',
  });
}

interface RunContext {
  readonly engine: Engine;
  readonly machine: ReturnType<typeof machine>;
  readonly stackMode: string;
  readonly seeds: readonly number[];
  readonly workers: number;
  readonly budgetSeconds: number;
  readonly delayBasis: DelayBasis;
  /** Workers checked in before the first lease (0: none awaited, as before it was set). */
  readonly minWorkers: number;
  /** The unmeasured run before the measured ones (0: none, as before it was added). */
  readonly warmUpSeconds: number;
  /** Who wrote the server steps (TRIBUTARY_KAFKA_CLIENT; `auto` keeps kafkajs for them); null: not recorded. */
  readonly stepClient: string | null;
}

/** `npm run bench -- tta --render`: the summary and chart again from bench/results/tta.json. */
export function renderTimeToAccuracy(engine: Engine = 'tfjs'): void {
  const saved = requireResult<{
    machine: RunContext['machine'];
    stackMode: string;
    parameters: {
      seeds: number[];
      workers: number;
      budgetSeconds: number;
      delayBasis?: DelayBasis;
      minWorkers?: number;
      warmUpSeconds?: number;
      stepClient?: string;
    };
    runs: Run[];
  }>(RESULT_NAMES[engine]);
  writeTimeToAccuracy(saved.runs, {
    ...saved.parameters,
    // Results saved before the basis was recorded were made on wall time.
    delayBasis: saved.parameters.delayBasis ?? 'wall',
    minWorkers: saved.parameters.minWorkers ?? 0,
    warmUpSeconds: saved.parameters.warmUpSeconds ?? 0,
    stepClient: saved.parameters.stepClient ?? null,
    engine,
    machine: saved.machine,
    stackMode: saved.stackMode,
  });
}

function writeTimeToAccuracy(runs: readonly Run[], context: RunContext): void {
  const { seeds, workers, budgetSeconds, engine, delayBasis, minWorkers, warmUpSeconds } = context;
  const name = RESULT_NAMES[engine];
  const workersAre =
    engine === 'numpy'
      ? "Workers: the protocol's Python worker (examples/python-worker), training with NumPy, one process each."
      : "Workers: Tributary's TypeScript worker, training with TF.js (native TensorFlow).";
  const summary = (Object.keys(STRATEGIES) as Strategy[]).map((strategy) => {
    const mine = runs.filter((r) => r.strategy === strategy);
    const stat = (target: number, field: keyof Reach) => {
      const values = mine
        .map((r) => r.reach[String(target)]?.[field])
        .filter((v): v is number => v !== undefined);
      return {
        median: values.length === mine.length ? median(values) : null,
        reached: values.length,
        runs: mine.length,
      };
    };
    const at = (target: number) => ({
      seconds: stat(target, 'seconds'),
      secondsFromStart: stat(target, 'secondsFromStart'),
      updates: stat(target, 'updates'),
    });
    return {
      strategy,
      to085: at(0.85),
      to090: at(0.9),
      finalAccuracy: median(mine.map((r) => r.report.finalAccuracy ?? 0)),
      startUpSeconds: median(mine.map((r) => r.report.trainingStartedSeconds ?? 0)),
      medianRoundSeconds: median(mine.map((r) => medianRoundSeconds(r.report))),
    };
  });
  const [buff, avg] = summary;
  const ratio = (t: 'to085' | 'to090', clock: 'seconds' | 'secondsFromStart') => {
    const b = buff?.[t][clock].median;
    const a = avg?.[t][clock].median;
    return b && a ? a / b : null;
  };
  const speedup = {
    to085: ratio('to085', 'seconds'),
    to090: ratio('to090', 'seconds'),
    fromStartTo085: ratio('to085', 'secondsFromStart'),
    fromStartTo090: ratio('to090', 'secondsFromStart'),
  };
  const finalDifferencePoints = ((buff?.finalAccuracy ?? 0) - (avg?.finalAccuracy ?? 0)) * 100;
  const fmt = (s: { median: number | null; reached: number; runs: number }, digits = 1) =>
    s.median === null ? `not reached (${s.reached}/${s.runs})` : s.median.toFixed(digits);
  const x = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)}×`);
  const speedupLine = `FedBuff reaches 0.85 ${x(speedup.to085)} and 0.90 ${x(speedup.to090)} sooner than FedAvg (from the first task); counted from process start, ${x(speedup.fromStartTo085)} and ${x(speedup.fromStartTo090)}. Final accuracy difference: ${finalDifferencePoints >= 0 ? '+' : ''}${finalDifferencePoints.toFixed(2)} points.`;
  const byStrategy = Object.fromEntries(
    (Object.keys(STRATEGIES) as Strategy[]).map((s) => [
      STRATEGY_LABELS[s],
      runs.filter((r) => r.strategy === s).map((r) => r.report),
    ]),
  );
  const md = [
    `# Time to accuracy: FedBuff vs synchronous FedAvg${engine === 'numpy' ? ' (NumPy workers)' : ''}`,
    '',
    `Machine: ${JSON.stringify(context.machine)}; stack: ${context.stackMode}.`,
    '',
    workersAre,
    '',
    `${workers} workers, Dirichlet(0.5) split of MNIST, seeds ${seeds.join(', ')}; client delays log-normal (σ 0.6) with one worker in ten 10× slower, multiplying training's ${delayBasis === 'cpu' ? 'CPU' : 'wall'} time; ${CONCURRENCY} tasks in flight for both; FedBuff K = 2, polynomial staleness (a = 0.5); FedAvg K = cohort = ${CONCURRENCY}, maximum staleness 0; server SGD, learning rate 1; local: 1 epoch, batch 32, learning rate 0.1; each run has ${budgetSeconds} s of coordinator wall time. Medians over seeds.${warmUpSeconds > 0 ? ` Before them, one unmeasured ${warmUpSeconds}-s FedBuff run on the same stack warms the broker (a JVM: its JIT compiler takes a quarter to a half of a core for about the first minute of traffic), as a long-running broker is.` : ''}${context.stepClient ? ` Server steps written by ${context.stepClient} (TRIBUTARY_KAFKA_CLIENT).` : ''}`,
    '',
    `Clock: seconds count from the first task the coordinator leases (training starts there)${minWorkers >= workers ? ", which waits until every worker has checked in (TRIBUTARY_MIN_WORKERS), as Flower's first round waits for all its clients" : ", at the first worker's check-in (these runs did not wait for the whole fleet)"}. Before it is start-up that does not depend on the strategy (loading TF.js, joining Kafka groups, publishing version 0${minWorkers >= workers ? ', the fleet coming online' : ''}); the 'from start' columns include it.`,
    '',
    table(
      [
        'strategy',
        's to 0.85',
        'updates to 0.85',
        's to 0.90',
        'updates to 0.90',
        's to 0.90 from start',
        'start-up s',
        'median s between versions',
        `final accuracy (${budgetSeconds} s)`,
      ],
      summary.map((s) => [
        s.strategy,
        fmt(s.to085.seconds),
        fmt(s.to085.updates, 0),
        fmt(s.to090.seconds),
        fmt(s.to090.updates, 0),
        fmt(s.to090.secondsFromStart),
        s.startUpSeconds.toFixed(1),
        s.medianRoundSeconds.toFixed(2),
        s.finalAccuracy.toFixed(4),
      ]),
    ),
    '',
    speedupLine,
    '',
    ...stageSections(
      "A task's round trip by stage (coordinators' reports; lease → task at the worker → its model ready → training, with the simulated delay → the update's record created → handed over by the coordinator's consumer → taken whole by its lane (queued) → folded; and per version: last fold → step committed → the next version's first lease):",
      byStrategy,
    ),
    '',
    ...cpuSection(
      (Object.keys(STRATEGIES) as Strategy[]).map((s) => ({
        system: STRATEGY_LABELS[s],
        runs: runs.filter((r) => r.strategy === s).map((r) => r.cpu),
      })),
    ),
    '',
    'Per run:',
    '',
    table(
      [
        'strategy',
        'seed',
        's to 0.85',
        's to 0.90',
        'updates to 0.90',
        'start-up s',
        'versions',
        'updates folded',
        'final accuracy',
      ],
      runs.map((r) => [
        r.strategy,
        r.seed,
        r.reach['0.85']?.seconds.toFixed(1) ?? '—',
        r.reach['0.9']?.seconds.toFixed(1) ?? '—',
        r.reach['0.9']?.updates ?? '—',
        (r.report.trainingStartedSeconds ?? 0).toFixed(1),
        r.report.versions,
        r.report.updatesAccepted,
        (r.report.finalAccuracy ?? 0).toFixed(4),
      ]),
    ),
    '',
    `Chart: \`bench/results/${name}.png\` (and \`${name}.html\`).`,
    '',
  ].join('\n');
  writeLineChart(join(RESULTS_DIR, name), {
    title: `Test accuracy against wall time: FedBuff vs synchronous FedAvg${engine === 'numpy' ? ', NumPy workers' : ''}`,
    xLabel: 'seconds since the first task was leased',
    yLabel: 'test accuracy',
    yMin: 0.6,
    yMax: 1,
    series: runs.map((r) => ({ label: STRATEGY_LABELS[r.strategy], points: trainingCurve(r.report) })),
    horizontalLines: TARGETS.map((t) => ({ y: t, label: String(t) })),
    notes: [`One line per seed (${seeds.join(', ')}). ${speedupLine}`],
  });
  const files = writeResult(
    name,
    {
      bench: name,
      engine,
      machine: context.machine,
      stackMode: context.stackMode,
      parameters: {
        seeds,
        workers,
        budgetSeconds,
        delayBasis,
        minWorkers,
        warmUpSeconds,
        stepClient: context.stepClient,
        concurrency: CONCURRENCY,
        strategies: STRATEGIES,
        targets: TARGETS,
        delay: 'log-normal sigma 0.6; 1 in 10 workers fixed 10x',
        partition: 'dirichlet 0.5',
        clock: 'seconds since the first task was leased; secondsFromStart since the coordinator started',
      },
      summary,
      speedup,
      finalDifferencePoints,
      runs: runs.map((r) => ({
        strategy: r.strategy,
        seed: r.seed,
        reach: r.reach,
        report: r.report,
        cpu: r.cpu,
      })),
    },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: name, written: files }));
}
