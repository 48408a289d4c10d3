/**
 * bench flower's report: Flower's curves (as bench/flower/run.py writes them) beside Tributary's
 * runs of the same task from bench tta and tta-numpy, as flower.md, flower.json and the chart.
 */
import { join } from 'node:path';
import { writeLineChart, type Series } from '../../lib/chart.js';
import type { DelayBasis } from '../../services/worker/delay.js';
import { type Engine, CONCURRENCY as PER_ROUND, resultName, TARGETS } from '../tta.js';
import { firstReaching, trainingCurve, type CurveReport } from '../curves.js';
import {
  type ComparisonContext,
  median,
  readResult,
  requireResult,
  RESULTS_DIR,
  stageSections,
  type StagesReported,
  table,
  writeResult,
} from '../common.js';
import { cpuSection, type RunCpu } from '../cpu.js';
import { seedSpread } from './spread.js';
import { type RoundPoint, trainingStart } from './round-points.js';
import { comparedShares, flowerShareRuns, trainingShareSection } from './training-share.js';
import { versionTimes } from './versions.js';
import { cohortWords, orderWords, samePathWords, servedAverageWords } from './words.js';

/** One Flower run: its curve, and where the CPU went (absent when saved before; null off Linux). */
export interface FlowerRunResult {
  readonly seed: number;
  readonly points: RoundPoint[];
  readonly cpu?: RunCpu | null;
}

/**
 * How Flower chose each round's clients (bench/flower/run.py): as Tributary leases (`rotation`), or
 * drawn with the seed (`random`; results saved before the choice existed).
 */
export type Cohorts = 'rotation' | 'random';

export interface FlowerContext extends ComparisonContext {
  readonly flwrVersion: string;
  readonly clients: number;
  /**
   * The Tributary engines whose runs alternated with Flower's, seed by seed, on one stack
   * (BENCH_FLOWER_ALTERNATE); null: none, Flower ran alone. Other engines' tta results, written
   * before, are compared too, and the report says they were run apart.
   */
  readonly alternatedWith?: readonly Engine[] | null;
  readonly cohorts?: Cohorts;
}

/** `npm run bench -- flower --render`: the summary and chart again from bench/results/flower.json. */
export function renderFlowerComparison(): void {
  const saved = requireResult<{
    machine: FlowerContext['machine'];
    flwr: string;
    parameters: {
      seeds: number[];
      clients: number;
      budgetSeconds: number;
      delayBasis?: DelayBasis;
      deviceMsPerSample?: number | null;
      alternatedWith?: Engine[] | null;
      cohorts?: Cohorts;
    };
    runs: FlowerRunResult[];
  }>(resultName('flower'));
  writeFlowerComparison(saved.runs, {
    ...saved.parameters,
    delayBasis: saved.parameters.delayBasis ?? 'wall',
    machine: saved.machine,
    flwrVersion: saved.flwr,
  });
}

/** What flower.md reads of bench tta's (and tta-numpy's) result. */
export type TtaResult = {
  parameters?: {
    delayBasis?: DelayBasis;
    budgetSeconds?: number;
    workers?: number;
    minWorkers?: number;
    strategies?: Record<string, Record<string, string>>;
  };
  summary: {
    strategy: string;
    to085: { seconds: { median: number | null } };
    to090: { seconds: { median: number | null }; secondsFromStart: { median: number | null } };
    startUpSeconds: number;
    medianRoundSeconds: number;
    finalAccuracy: number;
  }[];
  runs: {
    strategy: string;
    seed: number;
    report: CurveReport &
      StagesReported & {
        trainingStartedSeconds?: number | null;
      };
    cpu?: RunCpu | null;
  }[];
};

export function writeFlowerComparison(runs: readonly FlowerRunResult[], context: FlowerContext): void {
  const { flwrVersion, seeds, clients, budgetSeconds, delayBasis } = context;
  const reach = (points: RoundPoint[], target: number) => {
    const p = points.find((x) => x.accuracy >= target);
    return p
      ? {
          seconds: p.seconds - trainingStart(points),
          secondsFromStart: p.seconds,
          updates: p.round * PER_ROUND,
          round: p.round,
        }
      : null;
  };
  const overheads = runs.flatMap((r) =>
    r.points.filter((p) => p.round > 1).map((p) => p.roundSeconds - p.slowestClientSeconds),
  );
  const perRun = runs.map((r) => ({
    seed: r.seed,
    to085: reach(r.points, 0.85),
    to090: reach(r.points, 0.9),
    finalAccuracy: r.points.at(-1)?.accuracy ?? 0,
    rounds: r.points.length,
    startUpSeconds: trainingStart(r.points),
    medianRoundSeconds: median(r.points.map((p) => p.roundSeconds)),
  }));
  const med = (xs: (number | undefined)[]) =>
    xs.every((x) => x !== undefined) && xs.length > 0 ? median(xs as number[]) : null;
  const flower = {
    to085: med(perRun.map((r) => r.to085?.seconds)),
    to090: med(perRun.map((r) => r.to090?.seconds)),
    to090FromStart: med(perRun.map((r) => r.to090?.secondsFromStart)),
    startUpSeconds: median(perRun.map((r) => r.startUpSeconds)),
    medianRoundSeconds: median(perRun.map((r) => r.medianRoundSeconds)),
    finalAccuracy: median(perRun.map((r) => r.finalAccuracy)),
    medianRoundOverheadSeconds: median(overheads),
  };
  // Tributary's runs of the same task, if bench tta (TF.js workers) and tta-numpy (NumPy) have been run.
  // Device-paced runs are compared with device-paced runs (tta-device, tta-numpy-device).
  const alternatedWith = context.alternatedWith ?? null;
  const tributary = [
    { engine: 'tfjs' as const, bench: resultName('tta', delayBasis), suffix: '' },
    { engine: 'numpy' as const, bench: resultName('tta-numpy', delayBasis), suffix: ' (NumPy workers)' },
  ]
    .map((t) => ({ ...t, result: readResult<TtaResult>(t.bench) }))
    .flatMap(({ engine, bench, suffix, result }) =>
      result ? [{ engine, bench, suffix, result, runs: result.runs }] : [],
    );
  const tributaryReports = Object.fromEntries(
    tributary.flatMap(({ suffix, runs }) =>
      ['fedavg', 'fedbuff'].map((strategy) => [
        `Tributary ${strategy}${suffix}`,
        runs.filter((r) => r.strategy === strategy).map((r) => r.report),
      ]),
    ),
  );
  const otherBasis = tributary.filter((t) => (t.result.parameters?.delayBasis ?? 'wall') !== delayBasis);
  // Flower's first round waits for all its clients; a Tributary run whose first lease did not wait
  // for its whole fleet counted the fleet coming online as training time.
  const fleetNotAwaited = tributary.filter(
    (t) => (t.result.parameters?.minWorkers ?? 0) < (t.result.parameters?.workers ?? clients),
  );
  const spread = seedSpread(
    new Map(
      runs.map((r) => [
        r.seed,
        r.points.map((p) => ({ x: p.seconds - trainingStart(r.points), y: p.accuracy })),
      ]),
    ),
    tributary,
  );
  const shares = comparedShares(
    flowerShareRuns(`Flower ${flwrVersion} FedAvg`, runs, 0.9),
    tributary,
    PER_ROUND,
    0.9,
  );
  const fmt = (x: number | null | undefined) =>
    x === null || x === undefined ? 'not reached' : x.toFixed(1);
  const rows: (string | number)[][] = [
    [
      `Flower ${flwrVersion} FedAvg (${PER_ROUND} of ${clients} per round)`,
      fmt(flower.to085),
      fmt(flower.to090),
      fmt(flower.to090FromStart),
      flower.startUpSeconds.toFixed(1),
      flower.medianRoundSeconds.toFixed(2),
      flower.finalAccuracy.toFixed(4),
    ],
  ];
  // Tributary's times by the clock Flower's curve keeps: a version counts when it was committed.
  const published = (runs: TtaResult['runs'], strategy: string, target: number, fromStart = false) => {
    const times = runs
      .filter((r) => r.strategy === strategy)
      .map((r) => {
        const x = firstReaching(trainingCurve(r.report, 'published'), target);
        return x === null ? undefined : x + (fromStart ? (r.report.trainingStartedSeconds ?? 0) : 0);
      });
    return med(times);
  };
  for (const { suffix, result } of tributary)
    for (const s of result.summary)
      rows.push([
        `Tributary ${s.strategy}${suffix}`,
        fmt(published(result.runs, s.strategy, 0.85)),
        fmt(published(result.runs, s.strategy, 0.9)),
        fmt(published(result.runs, s.strategy, 0.9, true)),
        s.startUpSeconds.toFixed(1),
        s.medianRoundSeconds.toFixed(2),
        // At the end of that bench's own budget, which can differ from Flower's.
        result.parameters?.budgetSeconds === undefined || result.parameters.budgetSeconds === budgetSeconds
          ? s.finalAccuracy.toFixed(4)
          : `${s.finalAccuracy.toFixed(4)} (${result.parameters.budgetSeconds} s)`,
      ]);
  const md = [
    '# Flower side by side',
    '',
    `Machine: ${JSON.stringify(context.machine)}. Seeds ${seeds.join(', ')}; ${clients} clients, ${PER_ROUND} training at once; ${budgetSeconds} s budget each; medians over seeds.`,
    '',
    `Fair by construction: the same MNIST split and Dirichlet(0.5) shards (exported from Tributary's code), the same initial weights, the same MLP, the same local training (1 epoch, batch 32, SGD 0.1), the same client delay model, ${cohortWords(context.cohorts ?? 'random')}, the same machine and budget, the same share of its cores per process (TensorFlow's or OpenBLAS's threads). Differences: Flower clients train with numpy, Tributary's TypeScript workers with TF.js; Flower talks gRPC, Tributary Kafka.${servedAverageWords(tributary)} ${
      delayBasis === 'device'
        ? `The delay model is a device's: each client is a device of its own that trains ${context.deviceMsPerSample ?? '?'} ms a sample, and a client's training takes m × that for its shard (a client that took longer here sends when it is done), so neither the training engine nor this host's two shared cores set the pace (BENCH_DELAY_BASIS=device; the host-paced comparison is flower.md). What differs is the orchestration (and, at the host's limit, the engine).`
        : `The delay model multiplies each client's own measured training time (${delayBasis === 'cpu' ? 'its CPU time: on two shared cores, wall time would include waiting for a core, which the slow site multiplies by 10' : 'its wall time'}), so the training engine sets the pace: on this machine numpy trains a shard's epoch in about 8 ms, TF.js in about 26 ms with hand-derived gradients (each op dispatched to TensorFlow on its own, 10–50 µs each: docs/native-tensorflow.md). The rows marked (NumPy workers) take the engine out of the comparison: Tributary with the protocol's Python worker (examples/python-worker, bench tta-numpy), which trains with NumPy as Flower's clients do, so what differs there is the orchestration.`
    }`,
    '',
    ...samePathWords(context.cohorts ?? 'random'),
    orderWords(tributary, alternatedWith),
    '',
    "Clock: seconds count from the first task handed out (Flower: the first round's clients chosen, once all of them are connected; Tributary: the first lease, once every worker has checked in), as in bench tta; start-up before it (processes, connections) is shown apart and included in the \"from start\" column. A model counts from when it exists, as Flower's curve stamps a round before evaluating it: for Tributary, when its version was committed, not when its central evaluation (which runs beside the fold path) finished. Reports from before that was recorded fall back to the evaluation's end.",
    '',
    ...(fleetNotAwaited.length > 0
      ? [
          `**Clocks differ:** bench ${fleetNotAwaited.map((t) => t.bench).join(' and ')} leased its first task at the first worker's check-in, not once the whole fleet was online as Flower's first round is, so its times include the fleet coming online; run ${fleetNotAwaited.length > 1 ? 'them' : 'it'} again.`,
          '',
        ]
      : []),
    ...(otherBasis.length > 0
      ? [
          `**Not comparable:** the slow sites of bench ${otherBasis.map((t) => t.bench).join(' and ')} multiplied another time than Flower's (${delayBasis}); run ${otherBasis.length > 1 ? 'them' : 'it'} again with the same BENCH_DELAY_BASIS.`,
          '',
        ]
      : []),
    table(
      [
        'system',
        's to 0.85',
        's to 0.90',
        's to 0.90 from start',
        'start-up s',
        'median s between versions',
        `final accuracy (${budgetSeconds} s)`,
      ],
      rows,
    ),
    '',
    `Flower per-round overhead (round wall time minus its slowest client's training and delay), median over rounds: ${flower.medianRoundOverheadSeconds.toFixed(3)} s.`,
    '',
    "Per seed, with the round at which each system's FedAvg first evaluated ≥ 0.90 (Flower's round, Tributary's version). TF.js workers shuffle with a generator of their own, so their rounds differ from Flower's even with the same cohorts:",
    '',
    table(
      [
        'seed',
        'rounds',
        's to 0.85',
        's to 0.90',
        'round at 0.90',
        ...tributary.map((t) => `Tributary fedavg${t.suffix} version at 0.90`),
        'final accuracy',
        'median round s',
      ],
      perRun.map((r) => [
        r.seed,
        r.rounds,
        fmt(r.to085?.seconds),
        fmt(r.to090?.seconds),
        r.to090?.round ?? '—',
        ...tributary.map((t) => versionReaching(t.runs, r.seed, 0.9) ?? '—'),
        r.finalAccuracy.toFixed(4),
        r.medianRoundSeconds.toFixed(2),
      ]),
    ),
    '',
    spread.markdown,
    '',
    versionTimes(runs, tributary, `Flower ${flwrVersion} FedAvg`),
    '',
    ...trainingShareSection(shares, 0.9, delayBasis === 'device'),
    '',
    ...stageSections(
      "Tributary's round trip by stage (from bench tta's runs; Flower's rounds are its slowest client's training and delay plus the overhead above):",
      tributaryReports,
    ),
    '',
    ...cpuSection([
      { system: `Flower ${flwrVersion} FedAvg`, runs: runs.map((r) => r.cpu) },
      ...tributary.flatMap(({ suffix, runs: mine }) =>
        ['fedavg', 'fedbuff'].map((strategy) => ({
          system: `Tributary ${strategy}${suffix}`,
          runs: mine.filter((r) => r.strategy === strategy).map((r) => r.cpu),
        })),
      ),
    ]),
    `Chart: \`bench/results/${resultName('flower', delayBasis)}.png\` (and \`${resultName('flower', delayBasis)}.html\`).`,
    '',
  ].join('\n');
  // One colour per system and strategy, one line per seed.
  const series: Series[] = runs.map((r) => ({
    label: `Flower ${flwrVersion} FedAvg`,
    colour: '#2ca02c',
    points: r.points.map((p) => ({ x: Math.max(0, p.seconds - trainingStart(r.points)), y: p.accuracy })),
  }));
  const colours: Record<string, string> = {
    fedbuff: '#1f77b4',
    fedavg: '#d62728',
    'fedbuff (NumPy workers)': '#9467bd',
    'fedavg (NumPy workers)': '#ff7f0e',
  };
  for (const { suffix, runs: mine } of tributary)
    for (const r of mine)
      series.push({
        label: `Tributary ${r.strategy === 'fedbuff' ? 'FedBuff' : 'FedAvg'}${suffix}`,
        colour: colours[`${r.strategy}${suffix}`] ?? '#7f7f7f',
        points: trainingCurve(r.report, 'published'),
      });
  const name = resultName('flower', context.delayBasis);
  writeLineChart(join(RESULTS_DIR, name), {
    title: 'Test accuracy against wall time: Flower FedAvg and Tributary',
    xLabel: 'seconds since the first task (round) was handed out',
    yLabel: 'test accuracy',
    yMin: 0.6,
    yMax: 1,
    series,
    horizontalLines: TARGETS.map((t) => ({ y: t, label: String(t) })),
  });
  const files = writeResult(
    name,
    {
      bench: name,
      machine: context.machine,
      flwr: flwrVersion,
      parameters: {
        seeds,
        clients,
        perRound: PER_ROUND,
        budgetSeconds,
        delayBasis: context.delayBasis,
        deviceMsPerSample: context.deviceMsPerSample ?? null,
        alternatedWith,
        cohorts: context.cohorts ?? 'random',
      },
      flower,
      perRun,
      spread: spread.figures,
      trainingShare: shares,
      runs,
    },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'flower', written: files }));
}

/** The first version of a seed's FedAvg run evaluated at `target` or above; undefined if none. */
function versionReaching(runs: TtaResult['runs'], seed: number, target: number): number | undefined {
  const run = runs.find((r) => r.strategy === 'fedavg' && r.seed === seed);
  return run?.report.accuracyCurve.find((p) => (p.accuracy ?? 0) >= target)?.version;
}
