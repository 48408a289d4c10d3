/**
 * The coordinator's check-in reader against a real broker: it reads each check-in once, commits no
 * offsets (its group is its own and nobody resumes it), and a rejoin resumes after what it has read
 * rather than at the beginning of the topic.
 */
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { topicName } from '../../lib/kafka/topics.js';
import { consumeCheckIns } from '../../services/coordinator/clients.js';
import { topicsDeletedAfterAll, uniqueName, waitFor } from './helpers.js';

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'check-ins-test' });
});

const created = topicsDeletedAfterAll(() => kafka);

async function send(topic: string, values: string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((v, i) => ({ key: `worker-${i}`, value: v })) });
  await producer.disconnect();
}

describe("the coordinator's check-in reader", () => {
  it('reads each check-in once, commits nothing, and resumes after what it read when its group rebalances', async () => {
    const jobId = uniqueName('checkins-job');
    const topic = topicName(jobId, 'checkins');
    created.push(topic);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const before = Array.from({ length: 6 }, (_, i) => `before-${i}`);
    await send(topic, before);

    const seen: string[] = [];
    const reader = await consumeCheckIns(
      kafka,
      jobId,
      async (m) => void seen.push(m.value?.toString() ?? ''),
    );
    let joins = 0;
    reader.on(reader.events.GROUP_JOIN, () => (joins += 1));
    try {
      await waitFor(() => (seen.length >= 6 ? true : undefined), { what: 'the first check-ins' });
      const { groups } = await admin.listGroups();
      const groupId = groups.find((g) =>
        g.groupId.startsWith(`tributary.${jobId}.coordinator.checkins.`),
      )?.groupId;
      expect(groupId).toBeDefined();

      // A second member joins the reader's group and leaves: two rebalances, two rejoins.
      const joined = joins;
      const member = kafka.consumer({ groupId: groupId as string });
      await member.connect();
      await member.subscribe({ topic, fromBeginning: false });
      await member.run({ eachMessage: async () => undefined });
      await waitFor(() => (joins > joined ? true : undefined), { what: 'a rejoin with the second member' });
      const rejoined = joins;
      await member.disconnect();
      await waitFor(() => (joins > rejoined ? true : undefined), { what: 'a rejoin after it left' });

      const after = Array.from({ length: 6 }, (_, i) => `after-${i}`);
      await send(topic, after);
      await waitFor(() => (seen.length >= 12 ? true : undefined), { what: 'the later check-ins' });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // anything read twice would show by now
      expect([...seen].sort()).toEqual([...before, ...after].sort());

      const [offsets] = await admin.fetchOffsets({ groupId: groupId as string, topics: [topic] });
      expect(offsets?.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1']);
    } finally {
      await Promise.allSettled([reader.disconnect(), admin.disconnect()]);
    }
  });
});
