/**
 * Fashion-MNIST, Tributary against Flower on the same split: the examples/fashion-mnist task (its
 * CNN, its data functions, its local training: 50 SGD steps of 32 at lr 0.05) with FedBuff (K 2,
 * C 4), and Flower's FedAvg (4 of 8 clients per round) training the same CNN in Keras on exactly the
 * exported shards, test set and initial weights. 8 silos, Dirichlet(0.5), the same delay model (one
 * 10× slower silo, the rest log-normal σ 0.6), the same wall-clock budget. Prints and charts
 * accuracy against seconds since training started; asserts nothing.
 */
import { mkdirSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import { Federation, heterogeneousSpeed } from '../lib/run/federation.js';
import { loadTaskModel } from '../lib/task/load.js';
import { heInitialWeights } from '../lib/task/model.js';
import type { RunReport } from '../services/coordinator/report.js';
import { fashionSplit, siloExamples, testExamples } from '../examples/fashion-mnist/data.js';
import { machine, RESULTS_DIR, table, writeResult } from './common.js';
import { runFlower } from './flower.js';
import { trainingStart, type RoundPoint } from './flower/round-points.js';
import { writeImages } from './exported-task.js';
import { ensureVenv } from './flower/venv.js';
import { firstReaching, trainingCurve } from './curves.js';

const FASHION_TASK = fileURLToPath(new URL('../examples/fashion-mnist/task.ts', import.meta.url));
const SEED = Number(process.env.BENCH_FASHION_SEED ?? 1);
const SILOS = 8;
const BUDGET_SECONDS = Number(process.env.BENCH_FASHION_SECONDS ?? 240);
const TARGETS = [0.8, 0.85];
const TEST_COUNT = 2000;

async function exportSplit(): Promise<string> {
  const dir = join(RESULTS_DIR, 'flower-data', `fashion-seed-${SEED}`);
  mkdirSync(dir, { recursive: true });
  const split = fashionSplit(SEED, TEST_COUNT);
  writeImages(join(dir, 'test'), testExamples(split));
  for (let i = 0; i < SILOS; i++)
    writeImages(
      join(dir, `worker-${i}`),
      siloExamples(split, i, SILOS, { kind: 'dirichlet', alpha: 0.5 }, SEED),
    );
  const model = await loadTaskModel(FASHION_TASK);
  writeFileSync(join(dir, 'initial.f32'), Buffer.from(heInitialWeights(model.layout, SEED).buffer));
  model.model.dispose();
  return dir;
}

export async function runFashion(): Promise<void> {
  const flwr = ensureVenv(true);
  const dataDir = await exportSplit();
  const stack = await startStack({
    onProgress: (m) => console.log(JSON.stringify({ bench: 'fashion', stack: m })),
  });
  let report: RunReport;
  try {
    const runId = `fashion-fedbuff-s${SEED}-${Date.now().toString(36)}`;
    ({ report } = await new Federation({
      brokers: stack.brokers,
      registryUrl: stack.registryUrl,
      secureWith: stack.security ? stack : null,
      runId,
      jobId: runId,
      runDir: join(RESULTS_DIR, 'fashion-runs', runId),
      task: FASHION_TASK,
      taskConfig: { dataSeed: SEED, testCount: TEST_COUNT },
      workers: SILOS,
      coordinatorEnv: {
        TRIBUTARY_MODEL_SEED: String(SEED),
        TRIBUTARY_TARGET_ACCURACY: '0',
        TRIBUTARY_MAX_WALL_SECONDS: String(BUDGET_SECONDS),
      },
      workerEnv: (i) => ({
        TRIBUTARY_PARTITION: 'dirichlet',
        TRIBUTARY_DIRICHLET_ALPHA: '0.5',
        TRIBUTARY_SEED: String(SEED * 1000 + i),
        ...heterogeneousSpeed(i, SILOS),
      }),
    }).run());
  } finally {
    await stack.stop();
  }
  const tributary = trainingCurve(report);
  console.log(
    JSON.stringify({
      bench: 'fashion',
      system: 'tributary',
      final: report.finalAccuracy,
      versions: report.versions,
    }),
  );

  const points: RoundPoint[] = await runFlower({
    seed: SEED,
    dataDir,
    clients: SILOS,
    perRound: 4,
    budgetSeconds: BUDGET_SECONDS,
    // Flower's cohorts drawn with the seed, as when fashion.md was measured: Tributary runs FedBuff
    // here, so there is no round of Tributary's for Flower's to match (bench flower's rotation).
    extraArgs: [
      ...['--model', 'cnn', '--lr', '0.05', '--local-steps', '50', '--slow-every', String(SILOS)],
      ...['--cohorts', 'random'],
    ],
  });
  const start = trainingStart(points);
  const flower = points.map((p) => ({ x: Math.max(0, p.seconds - start), y: p.accuracy }));
  console.log(
    JSON.stringify({
      bench: 'fashion',
      system: 'flower',
      final: points.at(-1)?.accuracy,
      rounds: points.length,
    }),
  );

  const rows = [
    {
      name: `Tributary FedBuff (K 2, C 4), TF.js ${report.backend}`,
      curve: tributary,
      steps: report.versions,
    },
    { name: 'Flower FedAvg (4 of 8 per round), Keras', curve: flower, steps: points.length },
  ];
  const fmt = (v: number | null) => (v === null ? 'not reached' : `${v.toFixed(1)} s`);
  const md = [
    '# Fashion-MNIST: Tributary against Flower on the same split',
    '',
    `Machine: ${JSON.stringify(machine())}. Seed ${SEED}; ${SILOS} silos, Dirichlet(0.5) over ${70_000 - TEST_COUNT} images; ${TEST_COUNT} held-out test images; the examples/fashion-mnist CNN (16 and 32 3×3 filters, dense 64), 50 local SGD steps of 32 at lr 0.05, the same initial weights; one silo 10× slower, the rest log-normal σ 0.6, multiplying training's CPU time (both sides' default); ${BUDGET_SECONDS} s budget. Flower ${flwr}. Seconds count from the first task (round) sent.`,
    '',
    table(
      [
        'system',
        ...TARGETS.map((t) => `s to ${t}`),
        `accuracy at ${BUDGET_SECONDS} s`,
        'best',
        'versions / rounds',
      ],
      rows.map((r) => [
        r.name,
        ...TARGETS.map((t) => fmt(firstReaching(r.curve, t))),
        (r.curve.at(-1)?.y ?? 0).toFixed(4),
        Math.max(...r.curve.map((p) => p.y)).toFixed(4),
        r.steps,
      ]),
    ),
    '',
  ].join('\n');
  writeLineChart(join(RESULTS_DIR, 'fashion'), {
    title: 'Fashion-MNIST CNN, 8 silos: test accuracy against training time',
    xLabel: 'seconds since the first task was sent',
    yLabel: 'test accuracy',
    yMin: 0,
    yMax: 1,
    series: rows.map((r) => ({ label: r.name, points: r.curve })),
    horizontalLines: TARGETS.map((t) => ({ y: t, label: String(t) })),
  });
  writeResult(
    'fashion',
    {
      machine: machine(),
      flwr,
      parameters: {
        seed: SEED,
        silos: SILOS,
        budgetSeconds: BUDGET_SECONDS,
        testCount: TEST_COUNT,
        delayBasis: 'cpu',
      },
      tributary: { report, curve: tributary },
      flower: { points, curve: flower },
    },
    md,
  );
  console.log(md);
}
