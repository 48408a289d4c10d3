/**
 * Transport overhead: updates per second through Tributary's whole path (encode → produce as a
 * worker does → consume read_committed → decode → reassemble → validate → fold) against raw kafkajs
 * produce/consume of byte payloads of the same size, on the same broker, in the same run, for a
 * 1M-parameter model in each encoding. Goal: ≥ 0.7 of raw throughput for float32.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { FedBuffAggregator } from '../lib/core/fedbuff/aggregator.js';
import { DEFAULT_FEDBUFF } from '../lib/core/fedbuff/config.js';
import { modelLayout, splitFlat } from '../lib/core/fedbuff/layout.js';
import { DEFAULT_CHUNK_BYTES } from '../lib/core/limits.js';
import type { TensorEncoding } from '../lib/core/tensors.js';
import { createKafka, LARGE_RECORD_CONSUMER, LARGE_RECORD_TOPIC_CONFIG } from '../lib/kafka/client.js';
import { publishAtomically } from '../lib/kafka/publish.js';
import { RecordAssembler, toFoldInput, toRecords } from '../lib/wire/records.js';
import type { ModelUpdate } from '../lib/wire/schemas.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { machine, seconds, table, writeResult } from './common.js';
import { TRANSACTION_TIMEOUT_MS } from '../lib/core/limits.js';

const UPDATES = Number(process.env.BENCH_PIPELINE_UPDATES ?? 40);
const ENCODINGS: TensorEncoding[] = ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'];
const layout = modelLayout('bench-1m', [
  { name: 'dense/kernel', shape: [1000, 999] },
  { name: 'dense/bias', shape: [1000] },
]);

const unique = (p: string) => `${p}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 4, configEntries: LARGE_RECORD_TOPIC_CONFIG }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

/** Consumes `topic` from the beginning, calling `handle` per record, until `expected` records were handled. */
async function consumeAll(
  kafka: Kafka,
  topic: string,
  expected: number,
  readUncommitted: boolean,
  handle: (key: string, value: Buffer) => Promise<void> | void,
): Promise<{ ready: Promise<void>; done: Promise<void>; stop: () => Promise<void> }> {
  const consumer = kafka.consumer({ groupId: unique('bench'), readUncommitted, ...LARGE_RECORD_CONSUMER });
  let handled = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const ready = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      await handle(message.key?.toString() ?? '', message.value as Buffer);
      handled += 1;
      if (handled === expected) finish();
    },
  });
  return { ready, done, stop: () => consumer.disconnect() };
}

async function tributaryPath(
  kafka: Kafka,
  serde: AvroSerde,
  encoding: TensorEncoding,
  deltas: Float32Array[],
) {
  const topic = unique('bench-updates');
  await createTopic(kafka, topic);
  const schemaId = await serde.register('ModelUpdate', topic);
  const aggregator = FedBuffAggregator.create(
    { ...DEFAULT_FEDBUFF, jobId: 'bench', bufferSize: 1_000_000, maxDeltaNorm: null, guard: null },
    layout,
    new Float32Array(layout.size),
  );
  const assembler = new RecordAssembler<ModelUpdate>();
  let wireBytes = 0;
  let records = 0;
  // Published exactly as a worker publishes (lib/kafka/publish.ts).
  const producer = kafka.producer({
    transactionalId: unique('bench-tx'),
    transactionTimeout: TRANSACTION_TIMEOUT_MS,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([producer.connect(), plain.connect()]);
  // Records per update are known only after encoding; count completed folds instead.
  let folded = 0;
  let finish!: () => void;
  const allFolded = new Promise<void>((resolve) => (finish = resolve));
  const consumer = await consumeAll(kafka, topic, Number.MAX_SAFE_INTEGER, false, async (key, value) => {
    const record = await serde.decode('ModelUpdate', value);
    const whole = assembler.accept(key, record);
    if (!whole) return;
    aggregator.fold(toFoldInput(whole, aggregator.stagingArea));
    folded += 1;
    if (folded === deltas.length) finish();
  });
  await consumer.ready;
  const start = process.hrtime.bigint();
  for (let i = 0; i < deltas.length; i++) {
    const updateId = `u${i}`;
    const encoded = toRecords<ModelUpdate>(
      {
        updateId,
        taskId: 't',
        jobId: 'bench',
        workerId: 'w',
        baseVersion: 0,
        numExamples: 100,
        metrics: {},
        timings: { startedAtMs: 0, finishedAtMs: 0 },
      },
      splitFlat(layout, deltas[i] as Float32Array),
      encoding,
      DEFAULT_CHUNK_BYTES,
    );
    const messages = encoded.map((r) => ({ key: updateId, value: serde.encode('ModelUpdate', schemaId, r) }));
    wireBytes += messages.reduce((n, m) => n + m.value.length, 0);
    records += messages.length;
    await publishAtomically({ plain, transactional: producer }, topic, messages);
  }
  await allFolded;
  const elapsed = seconds(start);
  await consumer.stop();
  await Promise.all([producer.disconnect(), plain.disconnect()]);
  return {
    seconds: elapsed,
    updatesPerSecond: deltas.length / elapsed,
    bytesPerUpdate: wireBytes / deltas.length,
    recordsPerUpdate: records / deltas.length,
  };
}

async function rawPath(kafka: Kafka, payloadBytes: number, count: number) {
  const topic = unique('bench-raw');
  await createTopic(kafka, topic);
  const payloads = Array.from({ length: count }, () => randomBytes(payloadBytes));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = await consumeAll(kafka, topic, count, true, () => undefined);
  await consumer.ready;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    await producer.send({ topic, messages: [{ key: `u${i}`, value: payloads[i] as Buffer }] });
  await consumer.done;
  const elapsed = seconds(start);
  await consumer.stop();
  await producer.disconnect();
  return { seconds: elapsed, updatesPerSecond: count / elapsed, bytesPerUpdate: payloadBytes };
}

export async function runPipeline(): Promise<void> {
  const stack = await startStack({
    onProgress: (message) => console.log(JSON.stringify({ bench: 'pipeline', stack: message })),
  });
  try {
    const kafka = createKafka({
      brokers: stack.brokers,
      clientId: 'bench-pipeline',
      security: stack.clientSecurity.kafka,
    });
    const serde = AvroSerde.forUrl(stack.registryUrl);
    const deltas = Array.from({ length: UPDATES }, (_, u) =>
      Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.001 + u) * 1e-2),
    );
    const rows = [];
    for (const encoding of ENCODINGS) {
      const ours = await tributaryPath(kafka, serde, encoding, deltas);
      const raw = await rawPath(kafka, Math.round(ours.bytesPerUpdate), UPDATES);
      const row = {
        encoding,
        updates: UPDATES,
        params: layout.size,
        tributary: ours,
        raw,
        ratio: ours.updatesPerSecond / raw.updatesPerSecond,
      };
      rows.push(row);
      console.log(
        JSON.stringify({
          bench: 'pipeline',
          encoding,
          tributaryPerSecond: ours.updatesPerSecond.toFixed(2),
          rawPerSecond: raw.updatesPerSecond.toFixed(2),
          ratio: row.ratio.toFixed(2),
          bytesPerUpdate: Math.round(ours.bytesPerUpdate),
        }),
      );
    }
    const md = [
      '# Transport overhead: Tributary path vs raw Kafka',
      '',
      `Machine: ${JSON.stringify(machine())}; stack: ${stack.mode}; ${UPDATES} updates of ${layout.size.toLocaleString()} parameters each, one after another.`,
      '',
      'Tributary: encode → produce as a worker does (a transaction only for multi-record updates) → read_committed consume → decode → reassemble → validate → fold. Raw: idempotent produce and consume of random payloads of the same size.',
      '',
      table(
        [
          'encoding',
          'bytes on the wire / update',
          'records / update',
          'Tributary updates/s',
          'raw updates/s',
          'ratio',
          'Tributary MB/s',
          'raw MB/s',
        ],
        rows.map((r) => [
          r.encoding,
          Math.round(r.tributary.bytesPerUpdate).toLocaleString(),
          r.tributary.recordsPerUpdate,
          r.tributary.updatesPerSecond.toFixed(2),
          r.raw.updatesPerSecond.toFixed(2),
          r.ratio.toFixed(2),
          ((r.tributary.updatesPerSecond * r.tributary.bytesPerUpdate) / 1e6).toFixed(1),
          ((r.raw.updatesPerSecond * r.raw.bytesPerUpdate) / 1e6).toFixed(1),
        ]),
      ),
      '',
    ].join('\n');
    const files = writeResult(
      'pipeline',
      {
        bench: 'pipeline',
        machine: machine(),
        stackMode: stack.mode,
        params: layout.size,
        updates: UPDATES,
        rows,
      },
      md,
    );
    console.log(md);
    console.log(JSON.stringify({ bench: 'pipeline', written: files }));
  } finally {
    await stack.stop();
  }
}
