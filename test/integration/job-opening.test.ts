/**
 * Opening a job against the real broker and registry (services/coordinator/opening.ts): a worker
 * that finds the job's topics finds the coordinator's schemas registered too, so the writer schemas
 * it fetches before its first check-in are there, and its first task is not decoded behind a
 * registry call. And it takes the step transactions over before it reads the checkpoint: a
 * predecessor still holding a step open can no longer commit it, so the checkpoint read is the last
 * one any coordinator commits. A worker that finds the job before its first model waits for that
 * model before checking in, as it reads the models there are (docs/protocol.md, section 4): the
 * TypeScript worker and the Python one.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer } from 'kafkajs';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { TOPIC_KINDS, topicName } from '../../lib/kafka/topics.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { checkpointChunks, writeCheckpointManifest } from '../../services/coordinator/checkpoints.js';
import { openJob, type OpenedJob } from '../../services/coordinator/opening.js';
import { ServiceProcess } from '../../lib/testing/process.js';
import { topicsDeletedAfterAll, uniqueName, waitFor } from './helpers.js';
import { jobEnv, killAll, logEvents, startCoordinator, startWorkers } from './services.js';
import { PYTHON_WORKER, pythonWorkerInterpreter } from '../../examples/python-worker/interpreter.js';

const PYTHON_EXAMPLE_TASK = fileURLToPath(new URL('../../examples/python-worker/task.ts', import.meta.url));

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka({ brokers: inject('brokers'), clientId: 'job-opening-test' });
});

const created = topicsDeletedAfterAll(() => kafka);
afterEach(killAll);

const openJobNamed = (jobId: string) =>
  openJob(kafka, AvroSerde.forUrl(inject('registryUrl')), {
    jobId,
    transactionTimeoutMs: 30_000,
    stepClient: { choice: 'kafkajs', brokers: inject('brokers'), clientId: 'job-opening-test' },
  });

const closeOpened = (opened: OpenedJob | null | undefined) =>
  Promise.allSettled([
    opened?.admin.disconnect(),
    opened?.producer.disconnect(),
    opened?.txProducer.disconnect(),
    opened?.taskSender.disconnect(),
  ]);

/** A step's checkpoint of `bytes` in a transaction of `txProducer`, left open. */
async function openStep(txProducer: Producer, jobId: string, bytes: Uint8Array) {
  const topic = topicName(jobId, 'checkpoints');
  const tx = await txProducer.transaction();
  const chunks = checkpointChunks(jobId, bytes, 64 * 1024);
  const [written] = await tx.send({ topic, messages: chunks });
  const base = Number(written?.baseOffset);
  await writeCheckpointManifest(
    tx,
    topic,
    jobId,
    bytes,
    null,
    chunks.map((_, i) => base + i),
  );
  return tx;
}

describe('opening a job', () => {
  it('registers the schemas workers read before it creates the topics they wait for', async () => {
    const jobId = uniqueName('opening-job');
    created.push(...TOPIC_KINDS.map((kind) => topicName(jobId, kind)));
    const watcher = kafka.admin();
    await watcher.connect();
    const opened = openJobNamed(jobId);
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
      const { schemaIds } = await opened;
      expect(found).toEqual([schemaIds.task, schemaIds.model]);
    } finally {
      await Promise.allSettled([watcher.disconnect(), closeOpened(await opened.catch(() => null))]);
    }
  });

  it('fences a predecessor whose step is still open before reading the checkpoint, so that step can no longer commit', async () => {
    const jobId = uniqueName('fenced-job');
    created.push(...TOPIC_KINDS.map((kind) => topicName(jobId, kind)));
    let predecessor: OpenedJob | undefined;
    let successor: OpenedJob | undefined;
    try {
      predecessor = await openJobNamed(jobId);
      expect(predecessor.checkpoint).toBeNull();
      const committed = randomBytes(150_000);
      await (await openStep(predecessor.txProducer, jobId, committed)).commit();
      // The predecessor's next step is written but not yet committed when its successor opens the
      // job (a commit in flight when the node it went to died).
      const inFlight = await openStep(predecessor.txProducer, jobId, randomBytes(150_000));
      successor = await openJobNamed(jobId);
      expect(Buffer.from(successor.checkpoint?.bytes ?? [])).toEqual(committed);
      // Committing it now would put a step the successor did not read under its feet.
      await expect(inFlight.commit()).rejects.toThrow();
      // The successor steps from where it read.
      const next = randomBytes(1000);
      await (await openStep(successor.txProducer, jobId, next)).commit();
      const reopened = await openJobNamed(jobId);
      await closeOpened(reopened);
      expect(Buffer.from(reopened.checkpoint?.bytes ?? [])).toEqual(next);
    } finally {
      await Promise.allSettled([closeOpened(predecessor), closeOpened(successor)]);
    }
  });

  it('a worker that finds the job before its first model waits for it, and checks in holding it', async () => {
    const job = jobEnv(inject('brokers'), inject('registryUrl'));
    created.push(...TOPIC_KINDS.map((kind) => topicName(job.jobId, kind)));
    // The job's topics and schemas, as its coordinator opens them, and no model yet.
    await closeOpened(await openJobNamed(job.jobId));
    const [worker] = startWorkers(job, 1);
    if (!worker) throw new Error('no worker');
    await waitFor(() => logEvents(worker, 'waiting-for-first-model')[0], {
      what: 'the worker waiting for the first model',
      timeoutMs: 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(logEvents(worker, 'worker-started')).toEqual([]); // not checked in without it
    startCoordinator(job, { TRIBUTARY_MAX_VERSIONS: '2' });
    const [started] = await waitFor(
      () =>
        logEvents(worker, 'worker-started').length > 0 ? logEvents(worker, 'worker-started') : undefined,
      { what: 'the worker started', timeoutMs: 90_000 },
    );
    expect(started?.newestModel).toBe(0);
  });

  it('so does the Python worker', async () => {
    const job = jobEnv(inject('brokers'), inject('registryUrl'));
    created.push(...TOPIC_KINDS.map((kind) => topicName(job.jobId, kind)));
    await closeOpened(await openJobNamed(job.jobId));
    const python = new ServiceProcess(
      'py-0',
      [PYTHON_WORKER, '--job', job.jobId, '--worker-id', 'py-0', '--silo', 'py-site'],
      { KAFKA_BROKERS: inject('brokers').join(','), SCHEMA_REGISTRY_URL: inject('registryUrl') },
      pythonWorkerInterpreter(),
    );
    try {
      await waitFor(() => python.events('waiting-for-first-model')[0], {
        what: 'the Python worker waiting for the first model',
        timeoutMs: 120_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(python.events('worker-started')).toEqual([]);
      startCoordinator(job, { TRIBUTARY_TASK: PYTHON_EXAMPLE_TASK, TRIBUTARY_MAX_VERSIONS: '2' });
      const [started] = await waitFor(
        () => (python.events('worker-started').length > 0 ? python.events('worker-started') : undefined),
        { what: 'the Python worker started', timeoutMs: 90_000 },
      );
      expect(started?.models).toEqual([0]);
    } finally {
      await python.kill();
    }
  });
});
