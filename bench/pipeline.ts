/**
 * The update path against the physical reference, on one broker of the embedded stack, at three
 * record sizes (100 KB: a small device's model; 1 MB; 4 MB: a million parameters):
 *   - Kafka's Java tools (ProducerPerformance / ConsumerPerformance): what the broker takes here;
 *   - raw kafkajs and, when installed, raw librdkafka (@confluentinc/kafka-javascript): records of
 *     the same size sent one after another, each awaited, then read back read_committed;
 *   - Tributary's update path: encode → publish as workers do → read_committed → decode →
 *     reassemble → validate → fold, overlapped (./transport/update-path.ts).
 * Then FLOAT16 and INT8 at a million parameters against raw kafkajs records of their size.
 * Writes bench/results/pipeline.{json,md} and pipeline.png. Goal: the path ≥ 0.8 of the Java producer.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import type { TensorEncoding } from '../lib/core/tensors.js';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../lib/kafka/client.js';
import { createServed } from '../lib/kafka/topics.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { machine, median, RESULTS_DIR, table, writeResult } from './common.js';
import { pairedRatios, pairOrder } from './statistics.js';
import { ensureKafkaTools, javaConsume, javaProduce, KAFKA_TOOLS_VERSION } from './transport/kafka-tools.js';
import {
  kafkajsConsume,
  kafkajsProduce,
  librdkafkaConsume,
  librdkafkaProduce,
  rawLibrdkafka,
} from './transport/raw-clients.js';
import type { KafkaClientName } from '../lib/kafka/sender.js';
import { updatePath, type PathResult } from './transport/update-path.js';

/** Bytes moved per measurement: enough for a steady rate, a few seconds each. */
const BYTES_PER_RUN = Number(process.env.BENCH_PIPELINE_MB ?? 240) * 1e6;
const PUBLISHERS = Number(process.env.BENCH_PIPELINE_PUBLISHERS ?? 2);
/** Pairs of (update path, Java producer) runs per record size. */
const PAIRS = Math.max(1, Number(process.env.BENCH_PIPELINE_PAIRS ?? 5));
const SIZES = [
  {
    label: '100 KB',
    shapes: [
      { name: 'dense/kernel', shape: [250, 99] },
      { name: 'dense/bias', shape: [250] },
    ],
  },
  {
    label: '1 MB',
    shapes: [
      { name: 'dense/kernel', shape: [1000, 249] },
      { name: 'dense/bias', shape: [1000] },
    ],
  },
  {
    label: '4 MB',
    shapes: [
      { name: 'dense/kernel', shape: [1000, 999] },
      { name: 'dense/bias', shape: [1000] },
    ],
  },
];
const MILLION = SIZES[2]?.shapes as { name: string; shape: number[] }[];

const unique = (p: string) => `${p}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const progress = (message: string) => console.log(JSON.stringify({ bench: 'pipeline', progress: message }));

async function withTopic<T>(kafka: Kafka, prefix: string, use: (topic: string) => Promise<T>): Promise<T> {
  const topic = unique(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    // createServed, not kafkajs's waitForLeaders: one run in ~40 topics gave up on a broker whose
    // metadata had not caught up ("does not host this topic-partition") and ended the bench.
    await createServed(admin, [{ topic, numPartitions: 4, configEntries: LARGE_RECORD_TOPIC_CONFIG }]);
    return await use(topic);
  } finally {
    // Each run writes a few hundred MB: gone before the next.
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

interface SizeRow {
  readonly size: string;
  readonly bytes: number;
  readonly records: number;
  /** Tributary's update path with the workers sending through kafkajs, and through librdkafka. */
  readonly path: PathResult;
  readonly nativePath: PathResult | null;
  /**
   * The workers' default client's path and the Java producer, PAIRS runs each in alternating pairs;
   * `java.produce` is the median of javaMBps.
   */
  readonly paired?: { client: KafkaClientName; pathMBps: number[]; javaMBps: number[] };
  readonly java: { produce: number; consume: number };
  readonly kafkajs: { produce: number; consume: number };
  readonly librdkafka: { produce: number; consume: number } | null;
}

interface EncodingRow {
  readonly encoding: TensorEncoding;
  readonly path: PathResult;
  readonly kafkajsProduce: number;
  /** The same with the workers sending through librdkafka, against raw librdkafka records. */
  readonly nativePath?: PathResult | null;
  readonly librdkafkaProduce?: number | null;
}

export async function runPipeline(): Promise<void> {
  const classpath = await ensureKafkaTools(progress);
  const rdkafka = rawLibrdkafka();
  progress(
    rdkafka ? `librdkafka ${rdkafka.version} found` : 'librdkafka not installed: its columns are left out',
  );
  const stack = await startStack({ onProgress: (m) => progress(`stack: ${m}`) });
  const sizeRows: SizeRow[] = [];
  const encodingRows: EncodingRow[] = [];
  try {
    const kafka = createKafka({
      brokers: stack.brokers,
      clientId: 'bench-pipeline',
      security: stack.clientSecurity.kafka,
    });
    const serde = AvroSerde.forUrl(stack.registryUrl);
    const bootstrap = stack.brokers.join(',');
    const path = (
      encoding: TensorEncoding,
      shapes: typeof MILLION,
      bytesGuess: number,
      client: KafkaClientName = 'kafkajs',
    ) =>
      withTopic(kafka, 'bench-path', (topic) =>
        updatePath({
          kafka,
          serde,
          brokers: stack.brokers,
          registryUrl: stack.registryUrl,
          topic,
          encoding,
          shapes,
          updates: Math.max(10, Math.round(BYTES_PER_RUN / bytesGuess / PUBLISHERS)),
          publishers: PUBLISHERS,
          client,
        }),
      );
    // The broker's JIT warms up on the first few hundred MB: without this the first row (100 KB,
    // the update path) ran at half the speed it runs at once the broker is warm.
    progress('warming the broker up (not counted)');
    const first = SIZES[0] as (typeof SIZES)[number];
    for (const client of rdkafka ? (['kafkajs', 'librdkafka'] as const) : (['kafkajs'] as const))
      await path('FLOAT32', first.shapes, 100_000, client);
    for (const size of SIZES) {
      const params = size.shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      progress(`${size.label}: Tributary's update path (${PUBLISHERS} publishers)`);
      const first = await path('FLOAT32', size.shapes, params * 4);
      const bytes = Math.round(first.bytesPerUpdate);
      const records = Math.max(20, Math.round(BYTES_PER_RUN / bytes));
      // The path the workers take by default against the Java producer, in pairs measured back to
      // back, alternating which goes first: the broker is still getting faster run by run.
      const pairedClient: KafkaClientName = rdkafka ? 'librdkafka' : 'kafkajs';
      const pathRuns: PathResult[] = pairedClient === 'kafkajs' ? [first] : [];
      const javaRuns: number[] = [];
      let javaConsumeMBps = 0;
      for (let round = 0; round < PAIRS; round++) {
        for (const side of pairOrder(round, 'path', 'java')) {
          if (side === 'java') {
            progress(`${size.label}: Java producer, pair ${round + 1} of ${PAIRS}`);
            await withTopic(kafka, 'bench-java', async (topic) => {
              javaRuns.push(
                (await javaProduce(classpath, bootstrap, topic, bytes, records)).megabytesPerSecond,
              );
              if (round === 0)
                javaConsumeMBps = (await javaConsume(classpath, bootstrap, topic, bytes, records))
                  .megabytesPerSecond;
            });
          } else if (pathRuns.length <= round) {
            progress(`${size.label}: update path, ${pairedClient} workers, pair ${round + 1} of ${PAIRS}`);
            pathRuns.push(await path('FLOAT32', size.shapes, params * 4, pairedClient));
          }
        }
      }
      const paired = {
        client: pairedClient,
        pathMBps: pathRuns.map((r) => r.megabytesPerSecond),
        javaMBps: javaRuns,
      };
      const medianRun = [...pathRuns].sort((a, b) => a.megabytesPerSecond - b.megabytesPerSecond)[
        Math.floor(pathRuns.length / 2)
      ] as PathResult;
      progress(`${size.label}: kafkajs, ${records} records of ${bytes} bytes`);
      const kafkajs = await withTopic(kafka, 'bench-kafkajs', async (topic) => ({
        produce: (await kafkajsProduce(kafka, topic, bytes, records)).megabytesPerSecond,
        consume: (await kafkajsConsume(kafka, topic, bytes, records)).megabytesPerSecond,
      }));
      const librdkafka = rdkafka
        ? await withTopic(kafka, 'bench-rdkafka', async (topic) => {
            progress(`${size.label}: librdkafka`);
            return {
              produce: (await librdkafkaProduce(rdkafka.api, stack.brokers, topic, bytes, records))
                .megabytesPerSecond,
              consume: (await librdkafkaConsume(rdkafka.api, stack.brokers, topic, bytes, records))
                .megabytesPerSecond,
            };
          })
        : null;
      const row: SizeRow = {
        size: size.label,
        bytes,
        records,
        path: pairedClient === 'kafkajs' ? medianRun : first,
        nativePath: pairedClient === 'librdkafka' ? medianRun : null,
        paired,
        java: { produce: median(javaRuns), consume: javaConsumeMBps },
        kafkajs,
        librdkafka,
      };
      sizeRows.push(row);
      console.log(JSON.stringify({ bench: 'pipeline', ...row }));
    }
    for (const encoding of ['FLOAT16', 'INT8_AFFINE'] as const) {
      progress(`${encoding}: Tributary's update path, 1,000,000 parameters`);
      const ours = await path(encoding, MILLION, encoding === 'FLOAT16' ? 2e6 : 1e6);
      const bytes = Math.round(ours.bytesPerUpdate);
      const records = Math.max(20, Math.round(BYTES_PER_RUN / bytes));
      const produce = await withTopic(
        kafka,
        'bench-kafkajs',
        async (topic) => (await kafkajsProduce(kafka, topic, bytes, records)).megabytesPerSecond,
      );
      const nativePath = rdkafka
        ? await path(encoding, MILLION, encoding === 'FLOAT16' ? 2e6 : 1e6, 'librdkafka')
        : null;
      const rawNative = rdkafka
        ? await withTopic(
            kafka,
            'bench-rdkafka',
            async (topic) =>
              (await librdkafkaProduce(rdkafka.api, stack.brokers, topic, bytes, records)).megabytesPerSecond,
          )
        : null;
      encodingRows.push({
        encoding,
        path: ours,
        kafkajsProduce: produce,
        nativePath,
        librdkafkaProduce: rawNative,
      });
    }
  } finally {
    await stack.stop();
  }
  const million = sizeRows[2] as SizeRow;
  encodingRows.unshift({
    encoding: 'FLOAT32',
    path: million.path,
    kafkajsProduce: million.kafkajs.produce,
    nativePath: million.nativePath,
    librdkafkaProduce: million.librdkafka?.produce ?? null,
  });
  report(sizeRows, encodingRows, stack.mode, rdkafka?.version ?? null);
}

/** Redraws pipeline.md and pipeline.png from the saved pipeline.json, running nothing. */
export function renderPipeline(): void {
  const saved = JSON.parse(readFileSync(join(RESULTS_DIR, 'pipeline.json'), 'utf8')) as {
    sizeRows: SizeRow[];
    encodingRows: EncodingRow[];
    stackMode: string;
    librdkafka: string | null;
  };
  report(saved.sizeRows, saved.encodingRows, saved.stackMode, saved.librdkafka);
}

function report(
  sizeRows: SizeRow[],
  encodingRows: EncodingRow[],
  stackMode: string,
  rdkafkaVersion: string | null,
) {
  const mb = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const of = (x: number | undefined, ref: number) => (x === undefined ? '–' : (x / ref).toFixed(2));
  // The path the workers take by default, against the Java producer measured beside it in each pair.
  const pairedCell = (r: SizeRow) => {
    const p = r.paired as NonNullable<SizeRow['paired']>;
    const ratio = pairedRatios(p.pathMBps, p.javaMBps);
    const range = p.pathMBps.length > 1 ? `, ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}` : '';
    return `**${mb(median(p.pathMBps))} (${ratio.median.toFixed(2)}${range})**`;
  };
  const pairedRows = sizeRows.flatMap((r) =>
    (r.paired?.pathMBps ?? []).map((pathMBps, round) => {
      const java = r.paired?.javaMBps[round] as number;
      return [
        r.size,
        round + 1,
        pairOrder(round, 'path, then Java', 'Java, then path')[0],
        mb(java),
        mb(pathMBps),
        (pathMBps / java).toFixed(2),
      ];
    }),
  );
  const md = [
    "# The update path against Kafka's own tools",
    '',
    `Machine: ${JSON.stringify(machine())}; stack: ${stackMode}, one broker, acks=all, idempotent producers, read_committed consumers. ` +
      `Java: kafka-tools ${KAFKA_TOOLS_VERSION} (ProducerPerformance / ConsumerPerformance). ` +
      `librdkafka: ${rdkafkaVersion ? `@confluentinc/kafka-javascript (librdkafka ${rdkafkaVersion})` : 'not installed'}. ` +
      `Tributary: FLOAT32 updates published by ${PUBLISHERS} workers (processes), sending through kafkajs and (last column) librdkafka, and folded as they arrive; MB = 10⁶ bytes. ` +
      'Measured after the broker was warmed up with the same traffic. ' +
      `The update path of the workers' default client and the Java producer are measured in ${PAIRS} pairs, back to back and alternating which goes first; ` +
      "their cells give the medians, and the path's fraction is the median of the ratios within each pair (with their range).",
    '',
    '## Throughput, MB/s (fraction of the Java producer)',
    '',
    table(
      [
        'record',
        'Java produce',
        'Java consume',
        'kafkajs produce',
        'kafkajs consume',
        'librdkafka produce',
        'librdkafka consume',
        'update path, kafkajs workers',
        'update path, librdkafka workers',
      ],
      sizeRows.map((r) => [
        `${r.size} (${r.bytes.toLocaleString()} B × ${r.records})`,
        r.paired && r.paired.javaMBps.length > 1
          ? `${mb(r.java.produce)} (${mb(Math.min(...r.paired.javaMBps))}–${mb(Math.max(...r.paired.javaMBps))})`
          : mb(r.java.produce),
        mb(r.java.consume),
        `${mb(r.kafkajs.produce)} (${of(r.kafkajs.produce, r.java.produce)})`,
        `${mb(r.kafkajs.consume)}`,
        r.librdkafka ? `${mb(r.librdkafka.produce)} (${of(r.librdkafka.produce, r.java.produce)})` : '–',
        r.librdkafka ? mb(r.librdkafka.consume) : '–',
        r.paired?.client === 'kafkajs'
          ? pairedCell(r)
          : `${mb(r.path.megabytesPerSecond)} (${of(r.path.megabytesPerSecond, r.java.produce)})`,
        r.paired?.client === 'librdkafka'
          ? pairedCell(r)
          : r.nativePath
            ? `**${mb(r.nativePath.megabytesPerSecond)} (${of(r.nativePath.megabytesPerSecond, r.java.produce)})**`
            : '–',
      ]),
    ),
    '',
    '## The pairs: update path (default client) and Java producer, back to back',
    '',
    table(['record', 'pair', 'order', 'Java produce MB/s', 'update path MB/s', 'path ÷ Java'], pairedRows),
    '',
    '## Encodings at 1,000,000 parameters: the path against raw records of the same size, per client',
    '',
    table(
      [
        'encoding',
        'bytes / update',
        'records / update',
        'updates/s, kafkajs workers',
        'path MB/s',
        'kafkajs produce MB/s',
        'path / raw',
        'updates/s, librdkafka workers',
        'path MB/s',
        'librdkafka produce MB/s',
        'path / raw',
      ],
      encodingRows.map((r) => [
        r.encoding,
        Math.round(r.path.bytesPerUpdate).toLocaleString(),
        r.path.recordsPerUpdate,
        r.path.updatesPerSecond.toFixed(1),
        mb(r.path.megabytesPerSecond),
        mb(r.kafkajsProduce),
        of(r.path.megabytesPerSecond, r.kafkajsProduce),
        r.nativePath ? r.nativePath.updatesPerSecond.toFixed(1) : '–',
        mb(r.nativePath?.megabytesPerSecond),
        mb(r.librdkafkaProduce ?? undefined),
        r.nativePath && r.librdkafkaProduce ? of(r.nativePath.megabytesPerSecond, r.librdkafkaProduce) : '–',
      ]),
    ),
    '',
  ].join('\n');
  const files = writeResult(
    'pipeline',
    {
      bench: 'pipeline',
      machine: machine(),
      stackMode,
      publishers: PUBLISHERS,
      kafkaTools: KAFKA_TOOLS_VERSION,
      librdkafka: rdkafkaVersion,
      sizeRows,
      encodingRows,
    },
    md,
  );
  const x = (r: SizeRow) => r.bytes / 1e6;
  const line = (
    label: string,
    y: (r: SizeRow) => number | undefined,
    dashed = false,
    client?: KafkaClientName,
  ) => ({
    label,
    dashed,
    points: sizeRows.flatMap((r) => {
      // The paired path is drawn at the median of its within-pair ratios, as the table gives it.
      if (client && r.paired?.client === client)
        return [{ x: x(r), y: pairedRatios(r.paired.pathMBps, r.paired.javaMBps).median }];
      const value = y(r);
      return value === undefined ? [] : [{ x: x(r), y: value / r.java.produce }];
    }),
  });
  const chart = writeLineChart(join(RESULTS_DIR, 'pipeline'), {
    title: "Throughput as a fraction of Kafka's Java producer, one broker, acks=all",
    xLabel: 'record size, MB',
    yLabel: "÷ the Java producer's MB/s",
    yMin: 0,
    // Room above the highest line for the legend (top left).
    yMax: Math.max(4, ...sizeRows.map((r) => (r.librdkafka?.produce ?? 0) / r.java.produce + 1.5)),
    legend: 'top-left',
    horizontalLines: [
      { y: 1, label: 'Java producer' },
      { y: 0.8, label: 'goal 0.8' },
    ],
    series: [
      line('kafkajs producer', (r) => r.kafkajs.produce, true),
      line('librdkafka producer', (r) => r.librdkafka?.produce, true),
      line('update path, kafkajs workers (end to end)', (r) => r.path.megabytesPerSecond, false, 'kafkajs'),
      line(
        'update path, librdkafka workers (end to end)',
        (r) => r.nativePath?.megabytesPerSecond,
        false,
        'librdkafka',
      ),
    ],
    notes: [
      'Producers send one record at a time and await it, except the Java tool, which pipelines. ' +
        `The update path: ${PUBLISHERS} worker processes encode and publish, one process reads read_committed, decodes and folds.`,
    ],
  });
  console.log(md);
  console.log(JSON.stringify({ bench: 'pipeline', written: { ...files, ...chart } }));
}
