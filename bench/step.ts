/**
 * A server step's transaction on each client the coordinator can write it with: kafkajs's
 * transactional producer and librdkafka's (TRIBUTARY_KAFKA_CLIENT), built as the coordinator builds
 * them (services/coordinator/clients.ts). One step is what services/coordinator/step.ts sends: the
 * model and the checkpoint in one request, the checkpoint's manifest naming their offsets, the
 * consumer offsets (on librdkafka sent beside those writes), the commit. Models of 4 KB, 400 KB
 * (the MNIST MLP) and 4 MB; blocks of steps alternate between the clients, a pause between steps
 * as between a job's versions. Then steps back to back (a coordinator stepping as fast as it can),
 * each begun as soon as the last committed against STEP_GAP_MS after it
 * (lib/kafka/spaced-transactions.ts). Prints figures.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { TRANSACTION_TIMEOUT_MS } from '../lib/core/limits.js';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../lib/kafka/client.js';
import type { KafkaClientName } from '../lib/kafka/sender.js';
import { connectProducers, STEP_GAP_MS } from '../services/coordinator/clients.js';
import { offsetsOf } from '../services/coordinator/step.js';
import { machine, median, table, writeResult } from './common.js';

const SIZES_KB = [4, 400, 4096];
const CLIENTS: KafkaClientName[] = ['kafkajs', 'librdkafka'];
const STEPS_PER_BLOCK = Number(process.env.BENCH_STEP_COUNT ?? 60);
const BLOCKS = 3;
/** Steps per client and size before any is counted: the broker's and each client's JIT warm up. */
const WARM_UP_STEPS = 40;
/** Between steps, as between versions of a job (a step right after a commit waits for its markers). */
const PAUSE_MS = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The model's size in the steps back to back: the fixed cost is what spacing is about. */
const BACK_TO_BACK_KB = 4;
const GAPS_MS = [0, STEP_GAP_MS];
const quantile = (sorted: readonly number[], q: number) => sorted[Math.ceil(q * sorted.length) - 1] ?? 0;

/** `count` steps of a `bytes` model and checkpoint; the milliseconds each took. */
async function steps(
  producer: Producer,
  job: string,
  bytes: number,
  count: number,
  offsetsBesideWrites: boolean,
  pauseMs = PAUSE_MS,
): Promise<number[]> {
  const [models, checkpoints, updates] = ['models', 'checkpoints', 'updates'].map((k) => `${job}.${k}`);
  const model = randomBytes(bytes);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const tx = await producer.transaction();
    // As services/coordinator/step.ts: on librdkafka the offsets travel beside the writes.
    const sendOffsets = () =>
      tx.sendOffsets({
        consumerGroupId: `${job}.coordinator`,
        topics: [{ topic: updates!, partitions: [{ partition: 0, offset: String(i) }] }],
      });
    const offsetsSent = offsetsBesideWrites ? sendOffsets() : null;
    const written = await tx.sendBatch({
      topicMessages: [
        { topic: models!, messages: [{ key: job, value: model }] },
        { topic: checkpoints!, messages: [{ key: `${job}#0`, value: model }] },
      ],
    });
    const [offset] = offsetsOf(written, checkpoints!, 1);
    await tx.send({ topic: checkpoints!, messages: [{ key: job, value: Buffer.from(String(offset)) }] });
    await (offsetsSent ?? sendOffsets());
    await tx.commit();
    times.push(performance.now() - started);
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return times;
}

/** A job's topics and its step producer on `client`, as the coordinator connects it. */
async function openStepProducer(
  kafka: Kafka,
  admin: Admin,
  brokers: string[],
  client: KafkaClientName,
  label: string,
  stepGapMs?: number,
): Promise<{ job: string; producer: Producer }> {
  const job = `bench-step-${label}-${client}-${Date.now().toString(36)}`;
  await admin.createTopics({
    topics: ['models', 'checkpoints', 'updates'].map((k) => ({
      topic: `${job}.${k}`,
      configEntries: LARGE_RECORD_TOPIC_CONFIG,
    })),
    waitForLeaders: true,
  });
  const { txProducer, producer, taskSender } = await connectProducers(
    kafka,
    job,
    TRANSACTION_TIMEOUT_MS,
    { choice: client, brokers, clientId: `bench-step-${client}` },
    stepGapMs,
  );
  await Promise.all([producer.disconnect(), taskSender.disconnect()]);
  return { job, producer: txProducer };
}

interface BackToBackRow {
  readonly client: KafkaClientName;
  readonly gapMs: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly steps: number;
}

/** Steps of a BACK_TO_BACK_KB model one after another, begun at once or GAPS_MS after the last commit. */
async function stepsBackToBack(kafka: Kafka, admin: Admin, brokers: string[]): Promise<BackToBackRow[]> {
  const rows: BackToBackRow[] = [];
  for (const client of CLIENTS) {
    const opened = await Promise.all(
      GAPS_MS.map((gapMs) => openStepProducer(kafka, admin, brokers, client, `b2b${gapMs}`, gapMs)),
    );
    const samples = GAPS_MS.map(() => [] as number[]);
    const beside = client === 'librdkafka';
    const bytes = BACK_TO_BACK_KB * 1024;
    for (const { job, producer } of opened) await steps(producer, job, bytes, WARM_UP_STEPS, beside, 0);
    for (let block = 0; block < BLOCKS; block++)
      for (const i of block % 2 === 0 ? [0, 1] : [1, 0]) {
        const { job, producer } = opened[i]!;
        samples[i]!.push(...(await steps(producer, job, bytes, STEPS_PER_BLOCK, beside, 0)));
        console.log(JSON.stringify({ bench: 'step', backToBack: client, gapMs: GAPS_MS[i], block }));
      }
    for (const { producer } of opened) await producer.disconnect();
    GAPS_MS.forEach((gapMs, i) => {
      const xs = [...samples[i]!].sort((a, b) => a - b);
      rows.push({
        client,
        gapMs,
        medianMs: median(xs),
        p90Ms: quantile(xs, 0.9),
        p99Ms: quantile(xs, 0.99),
        steps: xs.length,
      });
    });
  }
  return rows;
}

export async function runStep(): Promise<void> {
  const stack = await startStack({
    onProgress: (message) => console.log(JSON.stringify({ bench: 'step', stack: message })),
  });
  const rows: { kb: number; client: KafkaClientName; medianMs: number; p90Ms: number; steps: number }[] = [];
  const backToBack: BackToBackRow[] = [];
  try {
    const kafka = createKafka({ brokers: stack.brokers, clientId: 'bench-step' });
    const admin = kafka.admin();
    await admin.connect();
    for (const kb of SIZES_KB) {
      const samples = new Map<KafkaClientName, number[]>(CLIENTS.map((c) => [c, []]));
      const producers = new Map<KafkaClientName, { job: string; producer: Producer }>();
      for (const client of CLIENTS) {
        const opened = await openStepProducer(kafka, admin, stack.brokers, client, `${kb}`);
        producers.set(client, opened);
        await steps(opened.producer, opened.job, kb * 1024, WARM_UP_STEPS, client === 'librdkafka'); // not counted
      }
      for (let block = 0; block < BLOCKS; block++)
        for (const client of block % 2 === 0 ? CLIENTS : [...CLIENTS].reverse()) {
          const { job, producer } = producers.get(client)!;
          const beside = client === 'librdkafka';
          samples.get(client)!.push(...(await steps(producer, job, kb * 1024, STEPS_PER_BLOCK, beside)));
          console.log(
            JSON.stringify({ bench: 'step', kb, client, block, steps: samples.get(client)!.length }),
          );
        }
      for (const { producer } of producers.values()) await producer.disconnect();
      for (const client of CLIENTS) {
        const xs = [...samples.get(client)!].sort((a, b) => a - b);
        rows.push({
          kb,
          client,
          medianMs: median(xs),
          p90Ms: quantile(xs, 0.9),
          steps: xs.length,
        });
      }
    }
    backToBack.push(...(await stepsBackToBack(kafka, admin, stack.brokers)));
    await admin.disconnect();
  } finally {
    await stack.stop();
  }
  const of = (kb: number, client: KafkaClientName) => rows.find((r) => r.kb === kb && r.client === client)!;
  const md = [
    '# A server step on each client: kafkajs and librdkafka',
    '',
    `Machine: ${JSON.stringify(machine())}; stack: ${stack.mode}.`,
    '',
    `One step: the model and its checkpoint (each the size below) in one request, a manifest naming the checkpoint's offset, the consumer offsets (on librdkafka sent beside those writes), the commit; ${PAUSE_MS} ms between steps; ${BLOCKS} blocks of ${STEPS_PER_BLOCK} steps per client, alternating which goes first, after ${WARM_UP_STEPS} warm-up steps.`,
    '',
    table(
      ['model', 'kafkajs ms: median (p90)', 'librdkafka ms: median (p90)', 'kafkajs ÷ librdkafka'],
      SIZES_KB.map((kb) => {
        const [a, b] = [of(kb, 'kafkajs'), of(kb, 'librdkafka')];
        return [
          kb >= 1024 ? `${kb / 1024} MB` : `${kb} KB`,
          `${a.medianMs.toFixed(1)} (${a.p90Ms.toFixed(1)})`,
          `${b.medianMs.toFixed(1)} (${b.p90Ms.toFixed(1)})`,
          `${(a.medianMs / b.medianMs).toFixed(2)}×`,
        ];
      }),
    ),
    '',
    `Steps back to back (a ${BACK_TO_BACK_KB}-KB model, no pause: a coordinator stepping as fast as it can), each begun as soon as the last committed or ${STEP_GAP_MS} ms after (STEP_GAP_MS, lib/kafka/spaced-transactions.ts: until the last one's markers are written, Kafka answers the next transaction CONCURRENT_TRANSACTIONS and the client backs off); ${BLOCKS} blocks of ${STEPS_PER_BLOCK} steps each, alternating, after ${WARM_UP_STEPS} warm-up steps. A step's time counts from asking for its transaction, so it includes the wait:`,
    '',
    table(
      ['client', 'begun', 'ms: median', 'p90', 'p99'],
      backToBack.map((r) => [
        r.client,
        r.gapMs === 0 ? 'at once' : `${r.gapMs} ms after`,
        r.medianMs.toFixed(1),
        r.p90Ms.toFixed(1),
        r.p99Ms.toFixed(1),
      ]),
    ),
    '',
  ].join('\n');
  const files = writeResult(
    'step',
    {
      bench: 'step',
      machine: machine(),
      stackMode: stack.mode,
      parameters: {
        sizesKb: SIZES_KB,
        stepsPerBlock: STEPS_PER_BLOCK,
        blocks: BLOCKS,
        pauseMs: PAUSE_MS,
        backToBackKb: BACK_TO_BACK_KB,
        gapsMs: GAPS_MS,
      },
      rows,
      backToBack,
    },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'step', written: files }));
}
