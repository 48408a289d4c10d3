/**
 * Opening a job against the real broker and registry (services/coordinator/opening.ts): a worker
 * that finds the job's topics finds the coordinator's schemas registered too, so the writer schemas
 * it fetches before its first check-in are there, and its first task is not decoded behind a
 * registry call.
 */
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { TOPIC_KINDS, topicName } from '../../lib/kafka/topics.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { openJob } from '../../services/coordinator/opening.js';
import { topicsDeletedAfterAll, uniqueName, waitFor } from './helpers.js';

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'job-opening-test' });
});

const created = topicsDeletedAfterAll(() => kafka);

describe('opening a job', () => {
  it('registers the schemas workers read before it creates the topics they wait for', async () => {
    const jobId = uniqueName('opening-job');
    created.push(...TOPIC_KINDS.map((kind) => topicName(jobId, kind)));
    const watcher = kafka.admin();
    await watcher.connect();
    const opening = openJob(kafka, AvroSerde.forUrl(inject('registryUrl')), {
      jobId,
      transactionTimeoutMs: 30_000,
      stepClient: { choice: 'kafkajs', brokers: inject('brokers'), clientId: 'job-opening-test' },
    });
    try {
      // As a worker starts: wait for the topics, then at once fetch the latest writer schemas.
      await waitFor(
        async () => ((await watcher.listTopics()).includes(topicName(jobId, 'tasks')) ? true : undefined),
        { what: "the job's tasks topic", intervalMs: 10 },
      );
      const worker = AvroSerde.forUrl(inject('registryUrl'));
      const found = await Promise.all(
        (['tasks', 'models'] as const).map((kind) => worker.prefetchLatest(topicName(jobId, kind))),
      );
      const { schemaIds } = await opening;
      expect(found).toEqual([schemaIds.task, schemaIds.model]);
    } finally {
      const opened = await opening.catch(() => null);
      await Promise.allSettled([
        watcher.disconnect(),
        opened?.admin.disconnect(),
        opened?.producer.disconnect(),
        opened?.txProducer.disconnect(),
        opened?.taskSender.disconnect(),
      ]);
    }
  });
});
