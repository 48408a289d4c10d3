/**
 * Models larger than one record, over the real broker and registry: global models and updates
 * chunked (the chunk limit set small so the MNIST model splits), checkpoints with Adam moments
 * split across many records and restored bit for bit after a SIGKILL, a models topic compacted
 * aggressively while a late worker joins, and folded-id memory that stays bounded. Issue #11.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { restoreAggregator, serializeAggregator } from '../../lib/core/fedbuff/state.js';
import { createKafka } from '../../lib/kafka/client.js';
import { topicConfigs, topicName } from '../../lib/kafka/topics.js';
import { ModelAssembler } from '../../lib/wire/model-assembly.js';
import { tensorsOf } from '../../lib/wire/records.js';
import type { CoordinatorEvent, GlobalModel } from '../../lib/wire/schemas.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { joinFlat } from '../../lib/core/fedbuff/layout.js';
import { readLatestCheckpoint } from '../../services/coordinator/checkpoints.js';
import {
  jobEnv,
  killAll,
  logEvents,
  readTopic,
  startCoordinator,
  startWorkers,
  type Service,
  versionAtLeast,
} from './services.js';
import { mnistLayout } from '../support/tasks.js';

afterEach(killAll);

const brokers = () => inject('brokers');
const registryUrl = () => inject('registryUrl');
const CHUNK = 64 * 1024;

describe('models of any size', () => {
  it('trains from chunked models, restores a chunked Adam checkpoint bit for bit after SIGKILL, and lets a late worker join a compacted models topic', async () => {
    const job = jobEnv(brokers(), registryUrl());
    const kafka = createKafka({ brokers: brokers(), clientId: 'it-admin' });
    const admin = kafka.admin();
    await admin.connect();
    // The job's topics as the coordinator would make them, but with the models topic compacted as
    // eagerly as the broker allows, so older versions' chunks disappear during the test.
    await admin.createTopics({
      waitForLeaders: true,
      topics: topicConfigs(job.jobId).map((t) =>
        t.topic === topicName(job.jobId, 'models')
          ? {
              ...t,
              configEntries: [
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'min.compaction.lag.ms', value: '0' },
                { name: 'segment.ms', value: '1000' },
                { name: 'min.cleanable.dirty.ratio', value: '0.01' },
                { name: 'max.message.bytes', value: String(16 * 1024 * 1024) },
              ],
            }
          : t,
      ),
    });
    await admin.disconnect();

    const chunked = { TRIBUTARY_MAX_CHUNK_BYTES: String(CHUNK) };
    const workers = startWorkers(job, 2, () => ({ ...chunked, TRIBUTARY_ENCODING: 'FLOAT16' }));
    const coordinatorEnv = {
      ...chunked,
      TRIBUTARY_CONCURRENCY: '2',
      TRIBUTARY_BUFFER_K: '2',
      TRIBUTARY_LOCAL_STEPS: '10',
      TRIBUTARY_SERVER_OPTIMIZER: 'adam',
      TRIBUTARY_MAX_WALL_SECONDS: '600',
    };
    let coordinator = startCoordinator(job, coordinatorEnv);
    await versionAtLeast(coordinator, 4);
    for (const w of workers) expect(logEvents(w, 'model-unreadable')).toEqual([]);

    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    const checkpoint = await readLatestCheckpoint(kafka, topicName(job.jobId, 'checkpoints'), job.jobId);
    expect(checkpoint).not.toBeNull();
    const bytes = checkpoint?.bytes as Uint8Array;
    // model + Adam's m and v: three times the model, far above one record (64 KiB here)
    expect(bytes.length).toBeGreaterThan(3 * 101_770 * 4);
    expect(checkpoint?.chunks).toBeGreaterThan(15);
    const restored = restoreAggregator(bytes);
    expect(Buffer.from(serializeAggregator(restored)).equals(Buffer.from(bytes))).toBe(true);
    expect(restored.snapshot().moments.m?.length).toBe(101_770);
    expect(restored.snapshot().foldedIds.size).toBeLessThanOrEqual(2 * (20 + 2));

    // The checkpointed model is the model published for that version, bit for bit.
    const serde = AvroSerde.forUrl(registryUrl());
    const layout = await mnistLayout();
    const assembler = new ModelAssembler(layout.size * 4);
    const published = new Map<number, Float32Array>();
    await readTopic(
      brokers(),
      topicName(job.jobId, 'models'),
      async (v) => {
        const { outcome } = assembler.accept(await serde.decode('GlobalModel', v));
        if (outcome.kind === 'broken') throw outcome.error;
        if (outcome.kind === 'whole')
          published.set(outcome.model.version, joinFlat(layout, tensorsOf(outcome.model as GlobalModel)));
        return outcome.kind;
      },
      { done: () => published.has(restored.version), timeoutMs: 60_000 },
    );
    const publishedModel = published.get(restored.version) as Float32Array;
    expect(Buffer.from(publishedModel.buffer).equals(Buffer.from(restored.model.buffer))).toBe(true);

    coordinator = startCoordinator(job, coordinatorEnv);
    await versionAtLeast(coordinator, restored.version + 3);
    const recovered = logEvents(coordinator, 'recovered')[0];
    expect(recovered?.version).toBe(restored.version);
    expect(recovered?.checkpointChunks).toBe(checkpoint?.chunks);

    // A worker that joins now reads whatever compaction left of the models topic and still trains.
    const [late] = startWorkers(job, 1, () => chunked, { first: 2, shards: 3 });
    const events = await readTopic(
      brokers(),
      topicName(job.jobId, 'events'),
      (v) => serde.decode('CoordinatorEvent', v),
      {
        done: (e: CoordinatorEvent[]) => e.some((x) => x.type === 'update-folded' && x.workerId === 'w2'),
        timeoutMs: 150_000,
      },
    );
    expect(events.some((x) => x.type === 'worker-problem')).toBe(false);
    expect(logEvents(late as Service, 'model-unreadable')).toEqual([]);
    expect(coordinator.child.exitCode).toBeNull();
  });
});
