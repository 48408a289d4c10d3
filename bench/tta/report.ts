/**
 * bench tta's and tta-numpy's report: the summary, stages, CPU and per-run tables (tta.md,
 * tta-numpy.md), the JSON result and the chart, from the runs bench/tta.ts made or saved.
 */
import { join } from 'node:path';
import { writeLineChart } from '../../lib/chart.js';
import type { RunReport } from '../../services/coordinator/report.js';
import type { DelayBasis } from '../../services/worker/delay.js';
import {
  type ComparisonContext,
  delayBasisWords,
  median,
  requireResult,
  RESULTS_DIR,
  stageSections,
  table,
  writeResult,
} from '../common.js';
import { cpuSection } from '../cpu.js';
import { trainingCurve } from '../curves.js';
import {
  CONCURRENCY,
  RESULT_NAMES,
  resultName,
  STRATEGIES,
  STRATEGY_LABELS,
  TARGETS,
  type Engine,
  type Reach,
  type Run,
  type Strategy,
} from '../tta.js';

/** Median seconds between consecutive versions: a synchronous round's length. */
function medianRoundSeconds(report: RunReport): number {
  const curve = report.accuracyCurve;
  return median(curve.slice(1).map((p, i) => p.seconds - (curve[i]?.seconds ?? 0)));
}

export interface RunContext extends ComparisonContext {
  readonly engine: Engine;
  readonly stackMode: string;
  readonly workers: number;
  /** Workers checked in before the first lease (0: none awaited, as before it was set). */
  readonly minWorkers: number;
  /** The unmeasured run before the measured ones (0: none, as before it was added). */
  readonly warmUpSeconds: number;
  /** Who wrote the server steps (TRIBUTARY_KAFKA_CLIENT; `auto` keeps kafkajs for them); null: not recorded. */
  readonly stepClient: string | null;
  /** Whose runs these alternated with, seed by seed, on the same stack (bench flower's); null: none. */
  readonly alternatedWith?: string | null;
  /** The coordinator settings of each strategy the runs used (saved ones when re-rendering). */
  readonly strategies: Readonly<Record<Strategy, Readonly<Record<string, string>>>>;
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
      alternatedWith?: string | null;
      deviceMsPerSample?: number | null;
      strategies?: RunContext['strategies'];
    };
    runs: Run[];
  }>(resultName(RESULT_NAMES[engine]));
  writeTimeToAccuracy(saved.runs, {
    ...saved.parameters,
    // Results saved before the basis was recorded were made on wall time.
    delayBasis: saved.parameters.delayBasis ?? 'wall',
    minWorkers: saved.parameters.minWorkers ?? 0,
    warmUpSeconds: saved.parameters.warmUpSeconds ?? 0,
    stepClient: saved.parameters.stepClient ?? null,
    alternatedWith: saved.parameters.alternatedWith ?? null,
    // Results saved before the settings were recorded ran the strategies without a served average.
    strategies: saved.parameters.strategies ?? strategiesBeforeServedAverage(),
    engine,
    machine: saved.machine,
    stackMode: saved.stackMode,
  });
}

/**
 * What the strategies were before the served average existed (results saved without settings). A
 * function: ../tta.ts, which this module's CONCURRENCY comes from, imports this module too.
 */
const strategiesBeforeServedAverage = (): RunContext['strategies'] => ({
  fedbuff: {
    TRIBUTARY_STRATEGY: 'fedbuff',
    TRIBUTARY_CONCURRENCY: String(CONCURRENCY),
    TRIBUTARY_BUFFER_K: '2',
  },
  fedavg: { TRIBUTARY_STRATEGY: 'fedavg', TRIBUTARY_CONCURRENCY: String(CONCURRENCY) },
});

/** The served average a strategy's settings name, in words ('' when it serves each version). */
function servedWords(settings: Readonly<Record<string, string>>): string {
  const beta = Number(settings.TRIBUTARY_SERVED_AVERAGE ?? 0);
  return beta > 0
    ? `, serving the moving average of its versions (β = ${beta}, TRIBUTARY_SERVED_AVERAGE), which evaluation scores`
    : '';
}

export function writeTimeToAccuracy(runs: readonly Run[], context: RunContext): void {
  const { seeds, workers, budgetSeconds, engine, delayBasis, minWorkers, warmUpSeconds } = context;
  const name = resultName(RESULT_NAMES[engine], delayBasis);
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
    `${workers} workers, Dirichlet(0.5) split of MNIST, seeds ${seeds.join(', ')}; client delays log-normal (σ 0.6) with one worker in ten 10× slower, ${delayBasisWords(delayBasis, context.deviceMsPerSample)}; ${CONCURRENCY} tasks in flight for both; FedBuff K = 2, polynomial staleness (a = 0.5)${servedWords(context.strategies.fedbuff)}; FedAvg K = cohort = ${CONCURRENCY}, maximum staleness 0; server SGD, learning rate 1; local: 1 epoch, batch 32, learning rate 0.1; each run has ${budgetSeconds} s of coordinator wall time. Medians over seeds.${warmUpSeconds > 0 ? ` Before them, one unmeasured ${warmUpSeconds}-s FedBuff run on the same stack warms the broker (a JVM: its JIT compiler takes a quarter to a half of a core for about the first minute of traffic), as a long-running broker is.` : ''}${context.stepClient ? ` Server steps written by ${context.stepClient} (TRIBUTARY_KAFKA_CLIENT).` : ''}${context.alternatedWith ? ` Run seed by seed in turn with ${context.alternatedWith}'s, in an order that rotates each seed, so a change in the machine's speed during the sitting falls on every system alike.` : ''}`,
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
        deviceMsPerSample: context.deviceMsPerSample ?? null,
        minWorkers,
        warmUpSeconds,
        stepClient: context.stepClient,
        alternatedWith: context.alternatedWith ?? null,
        concurrency: CONCURRENCY,
        strategies: context.strategies,
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
