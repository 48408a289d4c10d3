/**
 * A worker's transactional producer claims its id when the worker starts (services/worker/links.ts,
 * lib/kafka/fencing.ts): an update transaction a killed predecessor left open is ended then, not at
 * the new worker's first update, so it can no longer commit, and it stops holding back the
 * coordinator's read_committed view of that updates partition.
 */
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { createKafka } from '../../lib/kafka/client.js';
import { kafkajsSender } from '../../lib/kafka/sender.js';
import { ensureTopics, TOPIC_KINDS, topicName } from '../../lib/kafka/topics.js';
import { createLogger } from '../../lib/log.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { WorkerLinks } from '../../services/worker/links.js';
import { topicsDeletedAfterAll, uniqueName } from './helpers.js';

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'worker-fencing-test' });
});

const created = topicsDeletedAfterAll(() => kafka);

describe('a starting worker', () => {
  it('fences the update transaction its killed predecessor left open, before its first update', async () => {
    const jobId = uniqueName('worker-fenced');
    created.push(...TOPIC_KINDS.map((kind) => topicName(jobId, kind)));
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, jobId).finally(() => admin.disconnect());
    const predecessor = kafka.producer({
      transactionalId: `tributary.${jobId}.worker.w1`,
      transactionTimeout: 30_000,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await predecessor.connect();
    const open = await predecessor.transaction();
    await open.send({
      topic: topicName(jobId, 'updates'),
      messages: [{ key: 'w1', value: Buffer.from('x') }],
    });
    const links = new WorkerLinks(
      kafka,
      AvroSerde.forUrl(inject('registryUrl')),
      createLogger({ component: 'worker-fencing-test' }, { level: 'error' }),
      {
        jobId,
        processId: 'w1',
        workerIds: ['w1'],
        layout: modelLayout('fencing-test', [{ name: 'w', shape: [2] }]),
        modelCacheBytes: 1 << 20,
        eagerTransactions: true,
      },
      kafkajsSender(kafka),
    );
    try {
      await links.start();
      await expect(open.commit()).rejects.toThrow();
    } finally {
      await Promise.allSettled([links.close(), predecessor.disconnect()]);
    }
  });
});
