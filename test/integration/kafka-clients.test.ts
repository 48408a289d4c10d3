/**
 * The two clients behind a worker's RecordSender against a real broker: every record written once,
 * intact, and each key on the same partition from both (murmur2, as Java's and kafkajs's default
 * partitioner), so a worker's check-ins stay in one partition's order whichever client sent them.
 * CI builds librdkafka (infra/kafka-native/ensure-native.sh fails the run when it cannot), so its
 * half runs there; where the addon is missing it is reported as skipped, never as passed.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka, LARGE_RECORD_TOPIC_CONFIG } from '../../lib/kafka/client.js';
import { librdkafkaSender, loadLibrdkafka } from '../../lib/kafka/librdkafka.js';
import { readTopicNow } from '../../lib/kafka/read.js';
import { kafkajsSender, type OutgoingRecord, type RecordSender } from '../../lib/kafka/sender.js';
import { uniqueName } from './helpers.js';

const PARTITIONS = 12;
const KEYS = Array.from({ length: 60 }, (_, i) => `worker-${i}`);
const native = loadLibrdkafka().native;

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'clients-test' });
});

async function createTopic(): Promise<string> {
  const topic = uniqueName('senders');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, configEntries: LARGE_RECORD_TOPIC_CONFIG }],
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
  const topics: string[] = [];
  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it.skipIf(native === null)(
    'kafkajs and librdkafka write every record once and put each key on the same partition',
    async () => {
      const [a, b] = [await createTopic(), await createTopic()];
      topics.push(a, b);
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
      topics.push(topic);
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
