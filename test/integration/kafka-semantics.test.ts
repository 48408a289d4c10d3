/**
 * What Tributary needs from kafkajs against this broker: transactions that carry consumer offsets,
 * aborts invisible to read_committed readers, and 8 MiB records end to end. Issue #2.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka, LARGE_RECORD_CONSUMER, LARGE_RECORD_TOPIC_CONFIG } from '../../lib/kafka/client.js';
import { uniqueName, waitFor } from './helpers.js';
import { TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';

let kafka: Kafka;
const admin = () => kafka.admin();

beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'semantics-test' });
});

async function createTopic(topic: string, extra: { name: string; value: string }[] = []): Promise<void> {
  const a = admin();
  await a.connect();
  await a.createTopics({ topics: [{ topic, configEntries: extra }], waitForLeaders: true });
  await a.disconnect();
}

/** Reads every visible record of `topic` with the given isolation, stopping once `expected` have arrived. */
async function readAll(
  topic: string,
  readUncommitted: boolean,
  until: (n: number) => boolean,
): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted,
    ...LARGE_RECORD_CONSUMER,
  });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
  try {
    await waitFor(() => (until(seen.length) ? true : undefined), { what: `records on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('kafkajs transactions against Kafka 4', () => {
  const producers: { disconnect(): Promise<void> }[] = [];
  const transactionalProducer = async () => {
    const producer = kafka.producer({
      transactionalId: uniqueName('txid'),
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    producers.push(producer);
    await producer.connect();
    return producer;
  };
  afterAll(async () => {
    await Promise.allSettled(producers.map((p) => p.disconnect()));
  });

  it('commits records and consumer offsets in one transaction', async () => {
    const input = uniqueName('tx-in');
    const output = uniqueName('tx-out');
    const group = uniqueName('tx-group');
    await createTopic(input);
    await createTopic(output);

    const producer = await transactionalProducer();
    await producer.send({ topic: input, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });

    const tx = await producer.transaction();
    await tx.send({ topic: output, messages: [{ value: 'folded-a-b-c' }] });
    await tx.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '3' }] }],
    });
    await tx.commit();

    const a = admin();
    await a.connect();
    const offsets = await a.fetchOffsets({ groupId: group, topics: [input] });
    await a.disconnect();
    expect(offsets[0]?.partitions[0]?.offset).toBe('3');
    expect(await readAll(output, false, (n) => n >= 1)).toEqual(['folded-a-b-c']);
  });

  it('hides an aborted transaction from read_committed consumers', async () => {
    const topic = uniqueName('tx-abort');
    await createTopic(topic);
    const producer = await transactionalProducer();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed' }] });
    await committed.commit();

    // The uncommitted reader proves the aborted records really reached the log.
    const uncommitted = await readAll(topic, true, (n) => n >= 3);
    expect(uncommitted).toEqual(expect.arrayContaining(['aborted-1', 'aborted-2', 'committed']));
    const visible = await readAll(topic, false, (n) => n >= 1);
    expect(visible).toEqual(['committed']);
  });
});

describe('large records', () => {
  it('produces and consumes an 8 MiB record byte for byte', async () => {
    const topic = uniqueName('large');
    await createTopic(topic, LARGE_RECORD_TOPIC_CONFIG);
    const payload = randomBytes(8 * 1024 * 1024);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'big', value: payload }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('large-reader'), ...LARGE_RECORD_CONSUMER });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let received: Buffer | undefined;
    await consumer.run({ eachMessage: async ({ message }) => void (received = message.value ?? undefined) });
    try {
      await waitFor(() => received, { what: '8 MiB record' });
    } finally {
      await consumer.disconnect();
    }
    expect(received?.length).toBe(payload.length);
    expect(received?.equals(payload)).toBe(true);
  });

  it('rejects a record above the topic limit with a clear broker error', async () => {
    const topic = uniqueName('too-large');
    await createTopic(topic, LARGE_RECORD_TOPIC_CONFIG);
    const producer = createKafka({
      brokers: inject('brokers'),
      clientId: 'too-large',
      overrides: { retry: { retries: 0 } },
    }).producer();
    await producer.connect();
    try {
      await expect(
        producer.send({ topic, messages: [{ value: randomBytes(17 * 1024 * 1024) }] }),
      ).rejects.toThrow(/too large|larger than/i);
    } finally {
      await producer.disconnect();
    }
  });
});
