/**
 * The streamed data path (#13): records per second a worker's stream source (Avro decode with the
 * silo's registered schema → the task's map → the window) takes from one topic, alone and while
 * local training runs on snapshots of the window, against raw kafkajs consumption of the same topic;
 * and the process's memory over the run (the window's own arrays are fixed at start). Run with
 * NODE_OPTIONS=--expose-gc to sample the heap after a collection.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import { StreamSource } from '../lib/data/stream.js';
import { createKafka } from '../lib/kafka/client.js';
import { createServed } from '../lib/kafka/topics.js';
import { createLogger } from '../lib/log.js';
import { loadTf } from '../lib/ml/backend.js';
import { defineTask } from '../lib/task/define.js';
import { TaskModel } from '../lib/task/model.js';
import { frame } from '../lib/wire/confluent.js';
import { AvroSerde } from '../lib/wire/serde.js';
import { machine, RESULTS_DIR, table, writeResult } from './common.js';

const RECORDS = Number(process.env.BENCH_INGEST_RECORDS ?? 200_000);
const WINDOW = 20_000;
const FEATURES = 16;
const READING = {
  type: 'record',
  name: 'Vibration',
  namespace: 'bench.ingest',
  fields: [
    { name: 'machine', type: 'string' },
    { name: 'timeMs', type: 'long' },
    { name: 'bands', type: { type: 'array', items: 'float' } },
    { name: 'health', type: 'int' },
  ],
};

interface Sample {
  records: number;
  seconds: number;
  rssMiB: number;
  heapMiB: number;
}

async function fill(kafka: Kafka, serde: AvroSerde): Promise<string> {
  const topic = `bench-ingest-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await createServed(admin, [{ topic, numPartitions: 1 }]);
  await admin.disconnect();
  const schemaId = await serde.registerSchema(`${topic}-value`, JSON.stringify(READING));
  const type = avro.Type.forSchema(READING as avro.Schema);
  const producer = kafka.producer();
  await producer.connect();
  for (let start = 0; start < RECORDS; start += 5000) {
    const messages = Array.from({ length: Math.min(5000, RECORDS - start) }, (_, j) => {
      const i = start + j;
      const bands = Array.from({ length: FEATURES }, (_, b) => Math.sin(i * 0.01 + b));
      return {
        value: frame(schemaId, type.toBuffer({ machine: `m${i % 50}`, timeMs: i, bands, health: i % 4 })),
      };
    });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
  return topic;
}

async function raw(kafka: Kafka, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve) =>
    consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= RECORDS) resolve();
      },
    }),
  );
  await done;
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return RECORDS / seconds;
}

async function windowed(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
  training: boolean,
): Promise<{ perSecond: number; samples: Sample[]; windowBytes: number; trainings: number }> {
  const task = defineTask({
    id: 'ingest',
    model: ({ tf }) =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [FEATURES], units: 32, activation: 'relu', name: 'hidden' }),
          tf.layers.dense({ units: 4, activation: 'softmax', name: 'out' }),
        ],
      }),
    data: {
      stream: {
        topics: () => [topic],
        map: (record) => {
          const r = record as { bands: number[]; health: number; timeMs: number };
          return { features: r.bands, target: r.health, timestampMs: r.timeMs };
        },
        featureShape: [FEATURES],
        classes: 4,
        window: { records: WINDOW },
      },
    },
  });
  const stream = task.data.stream;
  if (!stream) throw new Error('no stream');
  const source = new StreamSource(
    stream,
    { silo: 'bench', workerId: 'bench', config: {} },
    kafka,
    serde,
    `bench-window-${randomUUID()}`,
    createLogger({ component: 'bench-ingest' }, { level: 'error' }),
  );
  const { tf } = await loadTf({ needsConvGradients: false });
  const model = new TaskModel(tf, task, {});
  const samples: Sample[] = [];
  const started = performance.now();
  await source.start();
  let trainings = 0;
  for (;;) {
    const stats = source.stats();
    // With --expose-gc (NODE_OPTIONS), sample the live heap after a collection, not GC lag.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    samples.push({
      records: stats.consumed,
      seconds: (performance.now() - started) / 1000,
      rssMiB: memory.rss / 2 ** 20,
      heapMiB: memory.heapUsed / 2 ** 20,
    });
    if (stats.consumed >= RECORDS) break;
    if (training && stats.size > 0) {
      // What a worker does at each task: the window as it stands, 20 SGD steps of 32.
      const passes = source.batchesOf(tf, source.window.snapshot());
      await model.train(
        model.getFlat(),
        { epochs: 1, steps: 20, batchSize: 32, learningRate: 0.05, proximalMu: null },
        (epoch) => passes(32, epoch),
      );
      trainings += 1;
    } else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const seconds = (performance.now() - started) / 1000;
  const windowBytes = source.stats().bytes;
  await source.stop();
  return { perSecond: RECORDS / seconds, samples, windowBytes, trainings };
}

export async function runIngest(): Promise<void> {
  const stack = await startStack({
    onProgress: (m) => console.log(JSON.stringify({ bench: 'ingest', stack: m })),
  });
  try {
    const kafka = createKafka({
      brokers: stack.brokers,
      clientId: 'bench-ingest',
      security: stack.clientSecurity.kafka,
    });
    const serde = AvroSerde.forUrl(stack.registryUrl);
    const topic = await fill(kafka, serde);
    const rawPerSecond = await raw(kafka, topic);
    console.log(JSON.stringify({ bench: 'ingest', rawPerSecond }));
    const alone = await windowed(kafka, serde, topic, false);
    console.log(JSON.stringify({ bench: 'ingest', windowPerSecond: alone.perSecond }));
    const busy = await windowed(kafka, serde, topic, true);
    console.log(
      JSON.stringify({ bench: 'ingest', trainingPerSecond: busy.perSecond, trainings: busy.trainings }),
    );
    const peak = (s: Sample[]) => Math.max(...s.map((x) => x.rssMiB));
    const rows = [
      ['raw kafkajs (eachBatch, no decode)', Math.round(rawPerSecond), '1.00', '-'],
      [
        'stream source: Avro decode + map + window',
        Math.round(alone.perSecond),
        (alone.perSecond / rawPerSecond).toFixed(2),
        peak(alone.samples).toFixed(0),
      ],
      [
        `the same while training on the window (${busy.trainings} tasks)`,
        Math.round(busy.perSecond),
        (busy.perSecond / rawPerSecond).toFixed(2),
        peak(busy.samples).toFixed(0),
      ],
    ];
    const md = [
      '# Streamed data: ingest into the window',
      '',
      `Machine: ${JSON.stringify(machine())}. ${RECORDS.toLocaleString('en')} Avro records (${FEATURES} float bands, a machine id, a time, a class) on one partition of one broker; a window of ${WINDOW.toLocaleString('en')} examples (${(alone.windowBytes / 2 ** 20).toFixed(2)} MiB of arrays, fixed).`,
      '',
      table(['reader', 'records/s', 'of raw', 'peak RSS MiB'], rows),
      '',
    ].join('\n');
    writeLineChart(join(RESULTS_DIR, 'ingest'), {
      title: 'Stream source: process memory while records flow through a 20,000-example window',
      xLabel: 'records consumed',
      yLabel: 'MiB',
      series: [
        { label: 'RSS, ingest only', points: alone.samples.map((s) => ({ x: s.records, y: s.rssMiB })) },
        { label: 'RSS, ingest + training', points: busy.samples.map((s) => ({ x: s.records, y: s.rssMiB })) },
        {
          label: 'JS heap, ingest + training',
          points: busy.samples.map((s) => ({ x: s.records, y: s.heapMiB })),
        },
      ],
    });
    writeResult(
      'ingest',
      { machine: machine(), records: RECORDS, window: WINDOW, rawPerSecond, alone, busy },
      md,
    );
    console.log(md);
  } finally {
    await stack.stop();
  }
}
