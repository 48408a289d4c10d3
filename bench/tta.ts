/**
 * Time to accuracy: FedBuff against synchronous FedAvg (the same code with K = cohort and maximum
 * staleness 0), as real processes over Kafka, on the same data, Dirichlet(0.5) partition, seeds and
 * heavy-tailed client delays (log-normal multipliers, σ = 0.6, plus one worker in ten 10× slower).
 * Each run gets the same wall-clock budget; times and updates to 0.85 and 0.90 come from the
 * accuracy curve. Goal: FedBuff reaches the target ≥ 2× sooner, final accuracy within 1 point.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startStack } from '../infra/stack/index.js';
import { lineChartHtml } from '../lib/chart.js';
import { Federation, heterogeneousSpeed } from '../scripts/federation.js';
import type { RunReport } from '../services/coordinator/report.js';
import { machine, median, RESULTS_DIR, table, writeResult } from './common.js';

const SEEDS = (process.env.BENCH_TTA_SEEDS ?? '1,2,3').split(',').map(Number);
const WORKERS = Number(process.env.BENCH_TTA_WORKERS ?? 10);
const BUDGET_SECONDS = Number(process.env.BENCH_TTA_SECONDS ?? 120);
const CONCURRENCY = 4;
const TARGETS = [0.85, 0.9];

const STRATEGIES = {
  fedbuff: {
    TRIBUTARY_STRATEGY: 'fedbuff',
    TRIBUTARY_CONCURRENCY: String(CONCURRENCY),
    TRIBUTARY_BUFFER_K: '2',
  },
  fedavg: { TRIBUTARY_STRATEGY: 'fedavg', TRIBUTARY_CONCURRENCY: String(CONCURRENCY) },
} as const;
type Strategy = keyof typeof STRATEGIES;

function firstReach(report: RunReport, target: number) {
  const point = report.accuracyCurve.find((p) => p.accuracy >= target);
  return point ? { seconds: point.seconds, updates: point.updatesAccepted, version: point.version } : null;
}

export async function runTimeToAccuracy(): Promise<void> {
  const stack = await startStack({
    onProgress: (message) => console.log(JSON.stringify({ bench: 'tta', stack: message })),
  });
  const runs: {
    strategy: Strategy;
    seed: number;
    report: RunReport;
    reach: Record<string, ReturnType<typeof firstReach>>;
  }[] = [];
  try {
    for (const seed of SEEDS) {
      for (const strategy of Object.keys(STRATEGIES) as Strategy[]) {
        const runId = `tta-${strategy}-s${seed}-${Date.now().toString(36)}`;
        const federation = new Federation({
          brokers: stack.brokers,
          registryUrl: stack.registryUrl,
          runId,
          jobId: runId,
          runDir: join(RESULTS_DIR, 'tta-runs', runId),
          workers: WORKERS,
          coordinatorEnv: {
            ...STRATEGIES[strategy],
            TRIBUTARY_MAX_WALL_SECONDS: String(BUDGET_SECONDS),
            TRIBUTARY_DATA_SEED: String(seed),
            TRIBUTARY_MODEL_SEED: String(seed),
            TRIBUTARY_TASK_DEADLINE_MS: '120000',
          },
          workerEnv: (i) => ({
            TRIBUTARY_PARTITION: 'dirichlet',
            TRIBUTARY_DIRICHLET_ALPHA: '0.5',
            TRIBUTARY_DATA_SEED: String(seed),
            TRIBUTARY_SEED: String(seed * 1000 + i),
            ...heterogeneousSpeed(i, 10),
          }),
        });
        const { report } = await federation.run();
        const reach = Object.fromEntries(TARGETS.map((t) => [String(t), firstReach(report, t)]));
        runs.push({ strategy, seed, report, reach });
        console.log(
          JSON.stringify({
            bench: 'tta',
            strategy,
            seed,
            finalAccuracy: report.finalAccuracy,
            reach,
            versions: report.versions,
            updates: report.updatesAccepted,
          }),
        );
      }
    }
  } finally {
    await stack.stop();
  }

  const summary = (Object.keys(STRATEGIES) as Strategy[]).map((strategy) => {
    const mine = runs.filter((r) => r.strategy === strategy);
    const stat = (target: number, field: 'seconds' | 'updates') => {
      const values = mine
        .map((r) => r.reach[String(target)]?.[field])
        .filter((v): v is number => v !== undefined);
      return {
        median: values.length === mine.length ? median(values) : null,
        reached: values.length,
        runs: mine.length,
      };
    };
    return {
      strategy,
      to085: { seconds: stat(0.85, 'seconds'), updates: stat(0.85, 'updates') },
      to090: { seconds: stat(0.9, 'seconds'), updates: stat(0.9, 'updates') },
      finalAccuracy: median(mine.map((r) => r.report.finalAccuracy ?? 0)),
    };
  });
  const [buff, avg] = summary;
  const speedup = (t: 'to085' | 'to090') =>
    buff?.[t].seconds.median && avg?.[t].seconds.median
      ? avg[t].seconds.median / buff[t].seconds.median
      : null;
  const fmt = (s: { median: number | null; reached: number; runs: number }, digits = 1) =>
    s.median === null ? `not reached (${s.reached}/${s.runs})` : s.median.toFixed(digits);
  const md = [
    '# Time to accuracy: FedBuff vs synchronous FedAvg',
    '',
    `Machine: ${JSON.stringify(machine())}; stack: ${stack.mode}.`,
    `${WORKERS} workers, Dirichlet(0.5) split of MNIST, seeds ${SEEDS.join(', ')}; client delays log-normal (σ 0.6) with one worker in ten 10× slower; ${CONCURRENCY} tasks in flight for both; FedBuff K = 2, polynomial staleness (a = 0.5); FedAvg K = cohort = ${CONCURRENCY}, maximum staleness 0; server SGD, learning rate 1; local: 1 epoch, batch 32, learning rate 0.1; each run has ${BUDGET_SECONDS} s of coordinator wall time. Medians over seeds; seconds are from the coordinator's start.`,
    '',
    table(
      [
        'strategy',
        's to 0.85',
        'updates to 0.85',
        's to 0.90',
        'updates to 0.90',
        `final accuracy (${BUDGET_SECONDS} s)`,
      ],
      summary.map((s) => [
        s.strategy,
        fmt(s.to085.seconds),
        fmt(s.to085.updates, 0),
        fmt(s.to090.seconds),
        fmt(s.to090.updates, 0),
        s.finalAccuracy.toFixed(4),
      ]),
    ),
    '',
    `Wall-clock speed-up of FedBuff: ${speedup('to085')?.toFixed(2) ?? 'n/a'}× to 0.85, ${speedup('to090')?.toFixed(2) ?? 'n/a'}× to 0.90; final accuracy difference ${(((buff?.finalAccuracy ?? 0) - (avg?.finalAccuracy ?? 0)) * 100).toFixed(2)} points.`,
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
        r.report.versions,
        r.report.updatesAccepted,
        (r.report.finalAccuracy ?? 0).toFixed(4),
      ]),
    ),
    '',
    'Chart: `bench/results/tta.html`.',
    '',
  ].join('\n');
  writeFileSync(
    join(RESULTS_DIR, 'tta.html'),
    lineChartHtml({
      title: 'Test accuracy against wall time: FedBuff vs synchronous FedAvg',
      xLabel: 'coordinator wall time (s)',
      yLabel: 'test accuracy',
      yMin: 0,
      yMax: 1,
      series: runs.map((r) => ({
        label: `${r.strategy} seed ${r.seed}`,
        points: r.report.accuracyCurve.map((p) => ({ x: p.seconds, y: p.accuracy })),
      })),
      horizontalLines: TARGETS.map((t) => ({ y: t, label: String(t) })),
      notes: md.split('\n').filter((l) => l.startsWith('Wall-clock')),
    }),
  );
  const files = writeResult(
    'tta',
    {
      bench: 'tta',
      machine: machine(),
      stackMode: stack.mode,
      parameters: {
        seeds: SEEDS,
        workers: WORKERS,
        budgetSeconds: BUDGET_SECONDS,
        concurrency: CONCURRENCY,
        strategies: STRATEGIES,
        targets: TARGETS,
        delay: 'log-normal sigma 0.6; 1 in 10 workers fixed 10x',
        partition: 'dirichlet 0.5',
      },
      summary,
      speedup: { to085: speedup('to085'), to090: speedup('to090') },
      runs: runs.map((r) => ({ strategy: r.strategy, seed: r.seed, reach: r.reach, report: r.report })),
    },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'tta', written: files }));
}
