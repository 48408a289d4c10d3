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
import { startStack, type Stack } from '../infra/stack/index.js';
import { benchmarkFleet, benchmarkRun, Federation } from '../lib/run/federation.js';
import { pythonWorkerInterpreter } from '../examples/python-worker/interpreter.js';
import type { RunReport } from '../services/coordinator/report.js';
import { DEFAULT_DEVICE_MS_PER_SAMPLE, type DelayBasis } from '../services/worker/delay.js';
import { machine, MNIST_TASK, pythonThreads, RESULTS_DIR } from './common.js';
import { cpuOfFederation, CpuMeter, type RunCpu } from './cpu.js';
import { writeTimeToAccuracy } from './tta/report.js';
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
  if (value === 'wall' || value === 'device') return value;
  throw new Error(`BENCH_DELAY_BASIS: must be cpu, wall or device, got "${value}"`);
}
/**
 * On the `device` basis (BENCH_DELAY_BASIS=device), each site is a device of its own training
 * BENCH_DEVICE_MS_PER_SAMPLE ms a sample (services/worker/delay.ts), for Tributary's workers and
 * Flower's clients alike: the devices set the pace, not the engine or this host's two cores.
 */
export const DEVICE_MS_PER_SAMPLE = Number(
  process.env.BENCH_DEVICE_MS_PER_SAMPLE ?? DEFAULT_DEVICE_MS_PER_SAMPLE,
);
/** A result's name on `basis`: device-paced runs are kept apart from host-paced ones (tta-device, …). */
export const resultName = (base: string, basis: DelayBasis = DELAY_BASIS): string =>
  basis === 'device' ? `${base}-device` : base;
/** Tasks in flight: FedBuff's concurrency, FedAvg's cohort, Flower's clients per round. */
export const CONCURRENCY = 4;
export const TARGETS = [0.85, 0.9];

export const STRATEGIES = {
  fedbuff: {
    TRIBUTARY_STRATEGY: 'fedbuff',
    TRIBUTARY_CONCURRENCY: String(CONCURRENCY),
    TRIBUTARY_BUFFER_K: '2',
    // The model FedBuff serves (and evaluation scores) is the moving average of its versions, β 0.75
    // (lib/core/fedbuff/served.ts; chosen on held-out seeds 11-22: README).
    TRIBUTARY_SERVED_AVERAGE: '0.75',
  },
  fedavg: { TRIBUTARY_STRATEGY: 'fedavg', TRIBUTARY_CONCURRENCY: String(CONCURRENCY) },
} as const;
export type Strategy = keyof typeof STRATEGIES;
/** Whose training the workers run: Tributary's TypeScript worker (TF.js), or the Python worker (NumPy). */
export type Engine = 'tfjs' | 'numpy';
export const RESULT_NAMES: Record<Engine, string> = { tfjs: 'tta', numpy: 'tta-numpy' };
export const STRATEGY_LABELS: Record<Strategy, string> = {
  fedbuff: 'FedBuff (K = 2)',
  fedavg: `FedAvg (K = cohort = ${CONCURRENCY})`,
};

export interface Reach {
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

export type Run = {
  strategy: Strategy;
  seed: number;
  report: RunReport;
  reach: Record<string, Reach | null>;
  /** Absent in results saved before it was recorded; null off Linux. */
  cpu?: RunCpu | null;
};

/**
 * Runs of the time-to-accuracy task with the given workers' engine on one stack, written under
 * `bench`: `warmUp` once (unmeasured, see WARM_UP_SECONDS), then `measure` per strategy and seed.
 */
export function timeToAccuracyRunner(stack: Stack, engine: Engine, bench: string) {
  const python = engine === 'numpy' ? pythonWorkerInterpreter() : null;
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
        : (i) => ({
            ...benchmarkFleet(seed)(i),
            TRIBUTARY_DELAY_BASIS: DELAY_BASIS,
            TRIBUTARY_DEVICE_MS_PER_SAMPLE: String(DEVICE_MS_PER_SAMPLE),
          }),
      workerCommand: python
        ? pythonWorker(python, dataDir, seed, DELAY_BASIS, DEVICE_MS_PER_SAMPLE)
        : undefined,
    });
    const meter = new CpuMeter().start();
    const run = await federation.run();
    return { report: run.report, cpu: cpuOfFederation(meter.stop(), run) };
  };
  const warmUp = async (): Promise<void> => {
    if (WARM_UP_SECONDS <= 0) return;
    const first = SEEDS[0] ?? 1;
    const { report } = await runOne('fedbuff', first, WARM_UP_SECONDS, `${bench}-warm-up`);
    console.log(JSON.stringify({ bench, warmUp: { seconds: WARM_UP_SECONDS, versions: report.versions } }));
  };
  const measure = async (strategy: Strategy, seed: number): Promise<Run> => {
    const { report, cpu } = await runOne(strategy, seed, BUDGET_SECONDS, bench);
    const reach = Object.fromEntries(TARGETS.map((t) => [String(t), firstReach(report, t)]));
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
        stolenCores: cpu?.stolenCores,
      }),
    );
    return { strategy, seed, report, reach, cpu };
  };
  const write = (runs: readonly Run[], alternatedWith: string | null = null): void =>
    writeTimeToAccuracy(runs, {
      engine,
      machine: machine(),
      stackMode: stack.mode,
      seeds: SEEDS,
      workers: WORKERS,
      minWorkers: WORKERS,
      budgetSeconds: BUDGET_SECONDS,
      delayBasis: DELAY_BASIS,
      deviceMsPerSample: DELAY_BASIS === 'device' ? DEVICE_MS_PER_SAMPLE : null,
      warmUpSeconds: WARM_UP_SECONDS,
      stepClient: process.env.TRIBUTARY_KAFKA_CLIENT === 'librdkafka' ? 'librdkafka' : 'kafkajs',
      alternatedWith,
      strategies: STRATEGIES,
    });
  return { warmUp, measure, write };
}

/** The stack the time-to-accuracy runs share, started with progress lines under `bench`. */
export const startBenchStack = (bench: string): Promise<Stack> =>
  startStack({ onProgress: (message) => console.log(JSON.stringify({ bench, stack: message })) });

/**
 * Runs every seed under both strategies on one stack (after an unmeasured warm-up run) with the
 * given workers' engine, and writes the result under its name on this delay basis (resultName).
 */
export async function runTimeToAccuracy(engine: Engine = 'tfjs'): Promise<void> {
  const bench = resultName(RESULT_NAMES[engine]);
  const stack = await startBenchStack(bench);
  const runner = timeToAccuracyRunner(stack, engine, bench);
  const runs: Run[] = [];
  try {
    await runner.warmUp();
    for (const seed of SEEDS)
      for (const strategy of Object.keys(STRATEGIES) as Strategy[])
        runs.push(await runner.measure(strategy, seed));
  } finally {
    await stack.stop();
  }
  runner.write(runs);
}
