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
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import type { TensorEncoding } from '../lib/core/tensors.js';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../lib/kafka/client.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { machine, RESULTS_DIR, table, writeResult } from './common.js';
import { ensureKafkaTools, javaConsume, javaProduce, KAFKA_TOOLS_VERSION } from './transport/kafka-tools.js';
import {
  kafkajsConsume,
  kafkajsProduce,
  librdkafkaConsume,
  librdkafkaProduce,
  loadLibrdkafka,
} from './transport/raw-clients.js';
import { updatePath, type PathResult } from './transport/update-path.js';

/** Bytes moved per measurement: enough for a steady rate, a few seconds each. */
const BYTES_PER_RUN = Number(process.env.BENCH_PIPELINE_MB ?? 240) * 1e6;
const PUBLISHERS = Number(process.env.BENCH_PIPELINE_PUBLISHERS ?? 2);
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
    await admin.createTopics({
      topics: [{ topic, numPartitions: 4, configEntries: LARGE_RECORD_TOPIC_CONFIG }],
      waitForLeaders: true,
    });
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
  readonly path: PathResult;
  readonly java: { produce: number; consume: number };
  readonly kafkajs: { produce: number; consume: number };
  readonly librdkafka: { produce: number; consume: number } | null;
}

interface EncodingRow {
  readonly encoding: TensorEncoding;
  readonly path: PathResult;
  readonly kafkajsProduce: number;
}

export async function runPipeline(): Promise<void> {
  const classpath = await ensureKafkaTools(progress);
  const rdkafka = loadLibrdkafka();
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
    const path = (encoding: TensorEncoding, shapes: typeof MILLION, bytesGuess: number) =>
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
        }),
      );
    for (const size of SIZES) {
      const params = size.shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      progress(`${size.label}: Tributary's update path (${PUBLISHERS} publishers)`);
      const ours = await path('FLOAT32', size.shapes, params * 4);
      const bytes = Math.round(ours.bytesPerUpdate);
      const records = Math.max(20, Math.round(BYTES_PER_RUN / bytes));
      progress(`${size.label}: kafkajs, ${records} records of ${bytes} bytes`);
      const kafkajs = await withTopic(kafka, 'bench-kafkajs', async (topic) => ({
        produce: (await kafkajsProduce(kafka, topic, bytes, records)).megabytesPerSecond,
        consume: (await kafkajsConsume(kafka, topic, bytes, records)).megabytesPerSecond,
      }));
      progress(`${size.label}: Java tools`);
      const java = await withTopic(kafka, 'bench-java', async (topic) => ({
        produce: (await javaProduce(classpath, bootstrap, topic, bytes, records)).megabytesPerSecond,
        consume: (await javaConsume(classpath, bootstrap, topic, bytes, records)).megabytesPerSecond,
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
      const row: SizeRow = { size: size.label, bytes, records, path: ours, java, kafkajs, librdkafka };
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
      encodingRows.push({ encoding, path: ours, kafkajsProduce: produce });
    }
  } finally {
    await stack.stop();
  }
  const million = sizeRows[2] as SizeRow;
  encodingRows.unshift({ encoding: 'FLOAT32', path: million.path, kafkajsProduce: million.kafkajs.produce });
  report(sizeRows, encodingRows, stack.mode, rdkafka?.version ?? null);
}

function report(
  sizeRows: SizeRow[],
  encodingRows: EncodingRow[],
  stackMode: string,
  rdkafkaVersion: string | null,
) {
  const mb = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const of = (x: number | undefined, ref: number) => (x === undefined ? '–' : (x / ref).toFixed(2));
  const md = [
    "# The update path against Kafka's own tools",
    '',
    `Machine: ${JSON.stringify(machine())}; stack: ${stackMode}, one broker, acks=all, idempotent producers, read_committed consumers. ` +
      `Java: kafka-tools ${KAFKA_TOOLS_VERSION} (ProducerPerformance / ConsumerPerformance). ` +
      `librdkafka: ${rdkafkaVersion ? `@confluentinc/kafka-javascript (librdkafka ${rdkafkaVersion})` : 'not installed'}. ` +
      `Tributary: FLOAT32 updates published by ${PUBLISHERS} workers (threads) and folded as they arrive; MB = 10⁶ bytes.`,
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
        "Tributary's update path",
      ],
      sizeRows.map((r) => [
        `${r.size} (${r.bytes.toLocaleString()} B × ${r.records})`,
        mb(r.java.produce),
        mb(r.java.consume),
        `${mb(r.kafkajs.produce)} (${of(r.kafkajs.produce, r.java.produce)})`,
        `${mb(r.kafkajs.consume)}`,
        r.librdkafka ? `${mb(r.librdkafka.produce)} (${of(r.librdkafka.produce, r.java.produce)})` : '–',
        r.librdkafka ? mb(r.librdkafka.consume) : '–',
        `**${mb(r.path.megabytesPerSecond)} (${of(r.path.megabytesPerSecond, r.java.produce)})**`,
      ]),
    ),
    '',
    '## Encodings at 1,000,000 parameters: the path against raw kafkajs records of the same size',
    '',
    table(
      [
        'encoding',
        'bytes / update',
        'records / update',
        'updates/s',
        'path MB/s',
        'kafkajs produce MB/s',
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
  const x = (r: SizeRow) => Math.log10(r.bytes);
  const line = (label: string, y: (r: SizeRow) => number | undefined, dashed = false) => ({
    label,
    dashed,
    points: sizeRows.flatMap((r) => (y(r) === undefined ? [] : [{ x: x(r), y: y(r) as number }])),
  });
  const chart = writeLineChart(join(RESULTS_DIR, 'pipeline'), {
    title: 'Update path vs Kafka clients, one broker, acks=all',
    xLabel: 'record size, log10 bytes (5 = 100 KB, 6 = 1 MB)',
    yLabel: 'MB/s',
    yMin: 0,
    series: [
      line('Java producer (kafka-tools)', (r) => r.java.produce, true),
      line('kafkajs producer', (r) => r.kafkajs.produce, true),
      line('librdkafka producer', (r) => r.librdkafka?.produce, true),
      line("Tributary's update path (end to end)", (r) => r.path.megabytesPerSecond),
    ],
    notes: ['Producers send one record at a time and await it, except the Java tool, which pipelines.'],
  });
  console.log(md);
  console.log(JSON.stringify({ bench: 'pipeline', written: { ...files, ...chart } }));
}
