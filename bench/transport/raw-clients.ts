/**
 * Raw byte transport through the two Node clients, the way Tributary's processes use them: records
 * sent one after another, each awaited (acks=all, idempotent), and read back read_committed.
 * kafkajs is Tributary's client; librdkafka (@confluentinc/kafka-javascript, its KafkaJS-compatible
 * API) is measured when its addon loads (infra/kafka-native/ensure-native.sh builds it).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { loadLibrdkafka } from '../../lib/kafka/librdkafka.js';
import { MAX_RECORD_BYTES } from '../../lib/core/limits.js';

export interface Rate {
  readonly seconds: number;
  readonly megabytesPerSecond: number;
}

const rate = (startedAt: bigint, records: number, bytes: number): Rate => {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  return { seconds, megabytesPerSecond: (records * bytes) / seconds / 1e6 };
};

/**
 * `count` sends of `bytes` one after another, each awaited, timed: the same payload under distinct
 * keys (the client's cost, not the generator's).
 */
async function timedSends(
  send: (key: string, value: Buffer) => Promise<unknown>,
  bytes: number,
  count: number,
): Promise<Rate> {
  const value = Buffer.alloc(bytes, 0x5a);
  const startedAt = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await send(`r${i}`, value);
  return rate(startedAt, count, bytes);
}

export async function kafkajsProduce(
  kafka: Kafka,
  topic: string,
  bytes: number,
  count: number,
): Promise<Rate> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    return await timedSends(
      (key, value) => producer.send({ topic, messages: [{ key, value }] }),
      bytes,
      count,
    );
  } finally {
    await producer.disconnect();
  }
}

export async function kafkajsConsume(
  kafka: Kafka,
  topic: string,
  bytes: number,
  count: number,
): Promise<Rate> {
  const consumer = kafka.consumer({
    groupId: `bench-${randomUUID()}`,
    readUncommitted: false,
    ...LARGE_RECORD_CONSUMER,
  });
  let read = 0;
  let startedAt = 0n;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  // From the group joined to the last record: fetching only, as the Java tool's fetch.MB.sec.
  consumer.on(consumer.events.GROUP_JOIN, () => (startedAt = process.hrtime.bigint()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async () => {
        if (++read === count) finish();
      },
    });
    await done;
    return rate(startedAt, count, bytes);
  } finally {
    await consumer.disconnect();
  }
}

/** The librdkafka client's KafkaJS-compatible API, as far as these loops use it. */
type RdKafkaJs = {
  Kafka: new (config: Record<string, unknown>) => {
    producer(config: Record<string, unknown>): RdProducer;
    consumer(config: Record<string, unknown>): RdConsumer;
  };
};
interface RdProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: { key: string; value: Buffer }[] }): Promise<unknown>;
}
interface RdConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(r: { eachMessage: () => Promise<void> }): Promise<void>;
}

/** The addon as lib/kafka/librdkafka.ts finds it (installed, or built into .cache/kafka-native). */
export function rawLibrdkafka(): { api: RdKafkaJs; version: string } | null {
  const { native } = loadLibrdkafka();
  return native ? { api: native.module.KafkaJS as unknown as RdKafkaJs, version: native.version } : null;
}

export async function librdkafkaProduce(
  api: RdKafkaJs,
  brokers: readonly string[],
  topic: string,
  bytes: number,
  count: number,
): Promise<Rate> {
  const kafka = new api.Kafka({ kafkaJS: { brokers: [...brokers], logLevel: 0 } });
  // linger.ms 0: each send is awaited, so lingering for company only adds latency.
  const producer = kafka.producer({
    kafkaJS: { idempotent: true, acks: -1 },
    'linger.ms': 0,
    'message.max.bytes': MAX_RECORD_BYTES,
  });
  await producer.connect();
  try {
    return await timedSends(
      (key, value) => producer.send({ topic, messages: [{ key, value }] }),
      bytes,
      count,
    );
  } finally {
    await producer.disconnect();
  }
}

export async function librdkafkaConsume(
  api: RdKafkaJs,
  brokers: readonly string[],
  topic: string,
  bytes: number,
  count: number,
): Promise<Rate> {
  const kafka = new api.Kafka({ kafkaJS: { brokers: [...brokers], logLevel: 0 } });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `bench-${randomUUID()}`, fromBeginning: true, autoCommit: false },
    'isolation.level': 'read_committed',
    'fetch.max.bytes': 4 * MAX_RECORD_BYTES,
    'max.partition.fetch.bytes': MAX_RECORD_BYTES,
  });
  let read = 0;
  let startedAt = 0n;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async () => {
        // From the first record (its API has no join event): the first fetch's records are not counted.
        if (read === 0) startedAt = process.hrtime.bigint();
        if (++read === count) finish();
      },
    });
    await done;
    return rate(startedAt, count - 1, bytes);
  } finally {
    await consumer.disconnect();
  }
}
