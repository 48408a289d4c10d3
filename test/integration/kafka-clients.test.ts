/**
 * The two clients behind a worker's RecordSender against a real broker: every record written once,
 * intact, and each key on the same partition from both (murmur2, as Java's and kafkajs's default
 * partitioner), so a worker's check-ins stay in one partition's order whichever client sent them.
 * And librdkafka's transactional producer as the coordinator's step producer: records on several
 * topics and a group's offsets in one transaction, the offsets a checkpoint manifest names, aborts
 * and a fenced predecessor's transaction invisible to read_committed readers.
 * CI builds librdkafka (infra/kafka-native/ensure-native.sh fails the run when it cannot), so its
 * half runs there; where the addon is missing it is reported as skipped, never as passed.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../../lib/kafka/client.js';
import { librdkafkaSender, loadLibrdkafka } from '../../lib/kafka/librdkafka.js';
import { librdkafkaTransactionalProducer } from '../../lib/kafka/librdkafka-transactions.js';
import { TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';
import { sendStepRecords } from '../../services/coordinator/step.js';
import { readTopicNow } from '../../lib/kafka/read.js';
import { kafkajsSender, type OutgoingRecord, type RecordSender } from '../../lib/kafka/sender.js';
import { topicsDeletedAfterAll, uniqueName } from './helpers.js';

const PARTITIONS = 12;
const KEYS = Array.from({ length: 60 }, (_, i) => `worker-${i}`);
const native = loadLibrdkafka().native;

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'clients-test' });
});

/** Every topic the tests create, deleted after them. */
const created = topicsDeletedAfterAll(() => kafka);

async function createTopic(partitions = PARTITIONS): Promise<string> {
  const topic = uniqueName('senders');
  created.push(topic);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, configEntries: LARGE_RECORD_TOPIC_CONFIG }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  return topic;
}

/** Sends one record per key (plus one 2 MB record) and returns each key's partition as read back. */
async function sendAndRead(sender: RecordSender, topic: string): Promise<Map<string, number>> {
  const big: OutgoingRecord = { key: 'big', value: randomBytes(2 * 1024 * 1024) };
  await sender.connect();
  try {
    for (const key of KEYS)
      await sender.send(topic, [{ key, value: Buffer.from(`${sender.client}:${key}`) }]);
    await sender.send(topic, [big]);
  } finally {
    await sender.disconnect();
  }
  const read = await readTopicNow(kafka, topic);
  const partitions = new Map<string, number>();
  for (const { partition, message } of read) {
    const key = message.key?.toString() ?? '';
    expect(partitions.has(key), `${key} read twice`).toBe(false);
    partitions.set(key, partition);
    if (key === 'big') expect(message.value?.equals(big.value)).toBe(true);
    else expect(message.value?.toString()).toBe(`${sender.client}:${key}`);
  }
  expect([...partitions.keys()].sort()).toEqual([...KEYS, 'big'].sort());
  return partitions;
}

describe('worker senders', () => {
  it.skipIf(native === null)(
    'kafkajs and librdkafka write every record once and put each key on the same partition',
    async () => {
      const [a, b] = [await createTopic(), await createTopic()];
      const viaKafkajs = await sendAndRead(kafkajsSender(kafka), a);
      const viaLibrdkafka = await sendAndRead(
        librdkafkaSender(native!, { brokers: inject('brokers'), clientId: 'clients-test-rd' }),
        b,
      );
      expect(new Set(viaKafkajs.values()).size).toBeGreaterThan(PARTITIONS / 2);
      expect(Object.fromEntries(viaLibrdkafka)).toEqual(Object.fromEntries(viaKafkajs));
    },
  );

  it.skipIf(native === null)(
    'a librdkafka send to a topic that does not exist fails, and the next one works',
    async () => {
      const topic = await createTopic();
      const sender = librdkafkaSender(native!, { brokers: inject('brokers'), clientId: 'clients-test-fail' });
      await sender.connect();
      try {
        await expect(
          sender.send(`${topic}-missing-${'x'.repeat(300)}`, [{ key: 'k', value: Buffer.from('v') }]),
        ).rejects.toThrow();
        await sender.send(topic, [{ key: 'k', value: Buffer.from('after') }]);
      } finally {
        await sender.disconnect();
      }
      const read = await readTopicNow(kafka, topic);
      expect(read.map((r) => r.message.value?.toString())).toEqual(['after']);
    },
  );
});

describe('the coordinator step producer on librdkafka', () => {
  const stepProducer = (transactionalId: string, offsetsGroupId?: string) =>
    librdkafkaTransactionalProducer(native!, {
      brokers: inject('brokers'),
      clientId: 'clients-test-tx',
      transactionalId,
      transactionTimeoutMs: TRANSACTION_TIMEOUT_MS,
      ...(offsetsGroupId === undefined ? {} : { offsetsGroupId }),
    });
  const values = async (topic: string) =>
    (await readTopicNow(kafka, topic)).map((r) => r.message.value?.toString());

  it.skipIf(native === null).each([
    ['its client joined in the first step', false],
    ['its client connected with the producer', true],
  ])(
    "commits records on two topics and a group's offsets in one transaction, at the offsets it reports (%s)",
    async (_, groupAhead) => {
      const [models, checkpoints, updates] = [
        await createTopic(1),
        await createTopic(1),
        await createTopic(3),
      ];
      const group = uniqueName('coordinator-group');
      const producer = stepProducer(uniqueName('txid'), groupAhead ? group : undefined);
      await producer.connect();
      try {
        for (const step of [1, 2]) {
          const tx = await producer.transaction();
          const chunks = ['a', 'b', 'c'].map((c) => ({
            key: `chunk-${c}`,
            value: Buffer.from(`${step}${c}`),
          }));
          // As a step sends them (its answer checked for every topic: kafkajs#1303).
          const offsets = await sendStepRecords(
            tx,
            [
              { topic: models, message: { key: 'model', value: Buffer.from(`model-${step}`) } },
              ...chunks.map((message) => ({ topic: checkpoints, message })),
            ],
            checkpoints,
          );
          expect(offsets).toHaveLength(chunks.length);
          await tx.send({
            topic: checkpoints,
            messages: [{ key: 'manifest', value: Buffer.from(offsets.join(',')) }],
          });
          await tx.sendOffsets({
            consumerGroupId: group,
            topics: [{ topic: updates, partitions: [{ partition: 2, offset: String(10 * step) }] }],
          });
          await tx.commit();
        }
      } finally {
        await producer.disconnect();
      }
      expect(await values(models)).toEqual(['model-1', 'model-2']);
      const read = await readTopicNow(kafka, checkpoints);
      const byOffset = new Map(read.map((r) => [r.message.offset, r.message.value?.toString()]));
      const manifest = read.filter((r) => r.message.key?.toString() === 'manifest').at(-1);
      const named = (manifest?.message.value?.toString() ?? '').split(',').map((o) => byOffset.get(o));
      expect(named).toEqual(['2a', '2b', '2c']);
      const admin = kafka.admin();
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [updates] });
      await admin.disconnect();
      expect(committed?.partitions.find((p) => p.partition === 2)?.offset).toBe('20');
    },
  );

  it.skipIf(native === null)(
    'begins each step ahead, as the last one commits: an aborted one hides its records, and the next commits',
    async () => {
      const topic = await createTopic(1);
      const producer = stepProducer(uniqueName('txid'));
      await producer.connect();
      try {
        for (const [value, end] of [
          ['first', 'commit'],
          ['aborted', 'abort'],
          ['third', 'commit'],
          ['fourth', 'commit'],
        ] as const) {
          const tx = await producer.transaction();
          await tx.send({ topic, messages: [{ key: 'k', value: Buffer.from(value) }] });
          await (end === 'commit' ? tx.commit() : tx.abort());
        }
      } finally {
        // With the next transaction begun ahead and empty: closing must not wait on it.
        await producer.disconnect();
      }
      expect(await values(topic)).toEqual(['first', 'third', 'fourth']);
    },
  );

  it.skipIf(native === null)(
    "hides an aborted step and a fenced predecessor's open one from read_committed readers",
    async () => {
      const topic = await createTopic(1);
      const transactionalId = uniqueName('txid');
      const first = stepProducer(transactionalId);
      await first.connect();
      const aborted = await first.transaction();
      await aborted.send({ topic, messages: [{ key: 'k', value: Buffer.from('aborted') }] });
      await aborted.abort();
      const open = await first.transaction();
      await open.send({ topic, messages: [{ key: 'k', value: Buffer.from('fenced') }] });
      // A successor with the same transactional id (a restarted coordinator) fences it at connect.
      const successor = stepProducer(transactionalId);
      await successor.connect();
      try {
        await expect(open.commit()).rejects.toThrow();
        const tx = await successor.transaction();
        await tx.send({ topic, messages: [{ key: 'k', value: Buffer.from('committed') }] });
        await tx.commit();
      } finally {
        await Promise.allSettled([first.disconnect(), successor.disconnect()]);
      }
      expect(await values(topic)).toEqual(['committed']);
    },
  );
});
