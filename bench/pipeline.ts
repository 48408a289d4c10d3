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
import type { TensorEncoding } from '../lib/core/tensors.js';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../lib/kafka/client.js';
import { createServed } from '../lib/kafka/topics.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { median, RESULTS_DIR } from './common.js';
import { writePipelineReport, type EncodingRow, type SizeRow } from './pipeline-report.js';
import { pairOrder } from './statistics.js';
import { ensureKafkaTools, javaConsume, javaProduce } from './transport/kafka-tools.js';
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
const SETTINGS = { publishers: PUBLISHERS, pairs: PAIRS };
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
    const warmUp = SIZES[0] as (typeof SIZES)[number];
    for (const client of rdkafka ? (['kafkajs', 'librdkafka'] as const) : (['kafkajs'] as const))
      await path('FLOAT32', warmUp.shapes, 100_000, client);
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
  writePipelineReport(sizeRows, encodingRows, stack.mode, rdkafka?.version ?? null, SETTINGS);
}

/** Redraws pipeline.md and pipeline.png from the saved pipeline.json, running nothing. */
export function renderPipeline(): void {
  const saved = JSON.parse(readFileSync(join(RESULTS_DIR, 'pipeline.json'), 'utf8')) as {
    sizeRows: SizeRow[];
    encodingRows: EncodingRow[];
    stackMode: string;
    librdkafka: string | null;
    publishers: number;
    pairs?: number;
  };
  writePipelineReport(saved.sizeRows, saved.encodingRows, saved.stackMode, saved.librdkafka, {
    publishers: saved.publishers,
    pairs: saved.pairs ?? saved.sizeRows[0]?.paired?.pathMBps.length ?? 1,
  });
}
