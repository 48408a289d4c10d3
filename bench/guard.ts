/**
 * The influence guard's cost and benefit (issue #10): the time-to-accuracy setup of bench/tta.ts
 * (FedBuff K = 2, 10 workers, Dirichlet(0.5), heavy-tailed delays), run with the guard off (the old
 * defaults: a fixed norm limit of 10,000 and nothing else) and on (the new defaults), each with and
 * without an attacker who, from 15 s after start-up, publishes a well-formed update every 4 s whose delta has
 * norm 9,999 against the current version. Same seeds, same machine, one run. Prints and saves
 * time to 0.85 / 0.90, final accuracy, and how many honest updates the guard clipped or rejected.
 */
import { join } from 'node:path';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import { splitFlat } from '../lib/core/fedbuff/layout.js';
import { createKafka } from '../lib/kafka/client.js';
import { topicName } from '../lib/kafka/topics.js';
import { loadTaskModel } from '../lib/task/load.js';
import { toRecords } from '../lib/wire/records.js';
import type { CoordinatorEvent, ModelUpdate } from '../lib/wire/schemas.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { benchmarkFleet, benchmarkRun, Federation } from '../lib/run/federation.js';
import type { RunReport } from '../services/coordinator/report.js';
import { machine, median, MNIST_TASK, requireResult, RESULTS_DIR, table, writeResult } from './common.js';

const SEEDS = (process.env.BENCH_GUARD_SEEDS ?? '1,2,3').split(',').map(Number);
const WORKERS = 10;
const BUDGET_SECONDS = Number(process.env.BENCH_GUARD_SECONDS ?? 90);
const TARGETS = [0.85, 0.9];
const VARIANTS = [
  { name: 'guard off', guard: 'off', attack: false },
  { name: 'guard on', guard: 'on', attack: false },
  { name: 'guard off, attacked', guard: 'off', attack: true },
  { name: 'guard on, attacked', guard: 'on', attack: true },
] as const;

interface Run {
  readonly variant: string;
  readonly seed: number;
  readonly report: RunReport;
  readonly reach: Record<string, number | null>;
  readonly honestFolded: number;
  readonly honestClipped: number;
  readonly rejectedByGuard: number;
  readonly attacksSent: number;
  readonly attacksFolded: number;
}

function reachSeconds(report: RunReport, target: number): number | null {
  const point = report.accuracyCurve.find((p) => (p.accuracy ?? 0) >= target);
  return point ? point.seconds - (report.trainingStartedSeconds ?? 0) : null;
}

async function readEvents(brokers: string[], serde: AvroSerde, jobId: string): Promise<CoordinatorEvent[]> {
  const consumer = createKafka({ brokers, clientId: 'bench-guard' }).consumer({
    groupId: `bench-guard-${jobId}`,
  });
  const events: CoordinatorEvent[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(jobId, 'events'), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      events.push(await serde.decode('CoordinatorEvent', message.value));
      last = Date.now();
    },
  });
  while (Date.now() - last < 3000) await new Promise((r) => setTimeout(r, 250));
  await consumer.disconnect();
  return events;
}

export async function runGuard(): Promise<void> {
  const stack = await startStack({
    onProgress: (m) => console.log(JSON.stringify({ bench: 'guard', stack: m })),
  });
  const { layout } = await loadTaskModel(MNIST_TASK);
  const serde = AvroSerde.forUrl(stack.registryUrl);
  const runs: Run[] = [];
  try {
    for (const seed of SEEDS) {
      for (const variant of VARIANTS) {
        const runId = `guard-${variant.guard}${variant.attack ? '-attacked' : ''}-s${seed}-${Date.now().toString(36)}`;
        let currentVersion = 0;
        let attacksSent = 0;
        const attackIds = new Set<string>();
        const federation = new Federation({
          brokers: stack.brokers,
          registryUrl: stack.registryUrl,
          secureWith: stack.security ? stack : null,
          runId,
          jobId: runId,
          runDir: join(RESULTS_DIR, 'guard-runs', runId),
          task: MNIST_TASK,
          taskConfig: { dataSeed: seed },
          workers: WORKERS,
          coordinatorEnv: {
            TRIBUTARY_STRATEGY: 'fedbuff',
            TRIBUTARY_CONCURRENCY: '4',
            TRIBUTARY_BUFFER_K: '2',
            TRIBUTARY_GUARD: variant.guard,
            ...benchmarkRun(seed, BUDGET_SECONDS),
          },
          workerEnv: benchmarkFleet(seed),
          onStatus: (s) => (currentVersion = s.version ?? currentVersion),
        });
        const producer = createKafka({
          brokers: stack.brokers,
          clientId: 'attacker',
          security: stack.clientSecurity.kafka,
        }).producer();
        let attacker: NodeJS.Timeout | undefined;
        if (variant.attack) {
          await producer.connect();
          const schemaId = await serde.register('ModelUpdate', topicName(runId, 'updates'));
          const each = 9_999 / Math.sqrt(layout.size);
          const delta = new Float32Array(layout.size).map((_, i) => (i % 3 === 0 ? each : -each));
          const started = Date.now();
          attacker = setInterval(() => {
            if (Date.now() - started < 15_000) return;
            const updateId = `attack-${attacksSent++}`;
            attackIds.add(updateId);
            const [record] = toRecords<ModelUpdate>(
              {
                updateId,
                taskId: updateId,
                jobId: runId,
                workerId: `worker-${attacksSent % WORKERS}`,
                baseVersion: currentVersion,
                numExamples: 1000,
                metrics: {},
                timings: { startedAtMs: Date.now(), finishedAtMs: Date.now() },
              },
              splitFlat(layout, delta),
              'FLOAT32',
              1 << 30,
            );
            void producer
              .send({
                topic: topicName(runId, 'updates'),
                messages: [
                  { key: updateId, value: serde.encode('ModelUpdate', schemaId, record as ModelUpdate) },
                ],
              })
              .catch(() => undefined);
          }, 4000);
        }
        const { report } = await federation.run().finally(() => clearInterval(attacker));
        await producer.disconnect().catch(() => undefined);
        const events = await readEvents(stack.brokers, serde, runId);
        const folded = events.filter((e) => e.type === 'update-folded');
        const honest = folded.filter((e) => !attackIds.has(e.updateId ?? ''));
        const run: Run = {
          variant: variant.name,
          seed,
          report,
          reach: Object.fromEntries(TARGETS.map((t) => [String(t), reachSeconds(report, t)])),
          honestFolded: honest.length,
          honestClipped: honest.filter((e) => (e.numbers.clipFactor ?? 1) < 1).length,
          rejectedByGuard: events.filter(
            (e) =>
              e.type === 'update-rejected' &&
              e.labels.code === 'TRIB_NORM_EXCEEDED' &&
              !attackIds.has(e.updateId ?? ''),
          ).length,
          attacksSent,
          attacksFolded: folded.length - honest.length,
        };
        runs.push(run);
        const { report: _, ...summary } = run;
        console.log(JSON.stringify({ bench: 'guard', ...summary, finalAccuracy: report.finalAccuracy }));
      }
    }
  } finally {
    await stack.stop();
  }
  writeGuard(runs, stack.mode);
}

/** `npm run bench -- guard --render`: the summary and chart again from bench/results/guard.json. */
export function renderGuard(): void {
  const saved = requireResult<{ stackMode: string; runs: Run[] }>('guard');
  writeGuard(saved.runs, saved.stackMode);
}

function writeGuard(runs: Run[], stackMode: string): void {
  const fmt = (x: number | null | undefined, digits = 1) =>
    x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits);
  const rows = VARIANTS.map((v) => {
    const of = runs.filter((r) => r.variant === v.name);
    const reached = (t: number) => of.map((r) => r.reach[String(t)]).filter((x): x is number => x !== null);
    const sum = (f: (r: Run) => number) => of.reduce((n, r) => n + f(r), 0);
    return [
      v.name,
      `${fmt(median(reached(0.85)))} (${reached(0.85).length}/${of.length})`,
      `${fmt(median(reached(0.9)))} (${reached(0.9).length}/${of.length})`,
      fmt(median(of.map((r) => r.report.finalAccuracy ?? 0)), 4),
      `${sum((r) => r.honestClipped)} / ${sum((r) => r.honestFolded)}`,
      sum((r) => r.rejectedByGuard),
      v.attack ? `${sum((r) => r.attacksFolded)} / ${sum((r) => r.attacksSent)}` : '—',
    ];
  });
  const markdown = [
    `# Influence guard: honest training and a norm-9,999 attacker, guard off (old defaults) and on`,
    '',
    `Seeds ${SEEDS.join(', ')}; ${WORKERS} workers, FedBuff K = 2, ${BUDGET_SECONDS} s per run; medians; stack ${stackMode}.`,
    '',
    table(
      [
        'variant',
        's to 0.85 (reached)',
        's to 0.90 (reached)',
        'final accuracy',
        'honest clipped / folded',
        'honest rejected',
        'attacks folded / sent',
      ],
      rows,
    ),
    '',
  ].join('\n');
  writeLineChart(join(RESULTS_DIR, 'guard'), {
    title: 'Test accuracy with the influence guard off and on, with and without an attacker',
    xLabel: 'seconds since the first task was leased',
    yLabel: 'test accuracy',
    yMin: 0,
    yMax: 1,
    series: runs.map((r) => ({
      label: r.variant,
      points: r.report.accuracyCurve.map((p) => ({
        x: p.seconds - (r.report.trainingStartedSeconds ?? 0),
        y: p.accuracy ?? 0,
      })),
    })),
    horizontalLines: TARGETS.map((t) => ({ y: t, label: String(t) })),
    notes: [
      `One line per seed (${SEEDS.join(', ')}). The attacker starts 15 s after the processes (about 5 s into training) and sends one update every 4 s.`,
    ],
  });
  const files = writeResult(
    'guard',
    {
      bench: 'guard',
      machine: machine(),
      stackMode,
      parameters: { seeds: SEEDS, workers: WORKERS, budgetSeconds: BUDGET_SECONDS, variants: VARIANTS },
      runs,
    },
    markdown,
  );
  console.log(markdown);
  console.log(JSON.stringify({ bench: 'guard', wrote: files }));
}
