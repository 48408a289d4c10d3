/**
 * Tributary doing its job: a coordinator and workers in separate processes, talking only through
 * the real broker and registry, training the MNIST MLP asynchronously. Issue #4.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { joinFlat, splitFlat } from '../../lib/core/fedbuff/layout.js';
import { averageInto } from '../../lib/core/fedbuff/served.js';
import { createKafka } from '../../lib/kafka/client.js';
import { topicName } from '../../lib/kafka/topics.js';
import { frame } from '../../lib/wire/confluent.js';
import { tensorsOf, toRecords } from '../../lib/wire/records.js';
import type { CoordinatorEvent, GlobalModel, ModelUpdate, RejectedUpdate } from '../../lib/wire/schemas.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import type { RunReport } from '../../services/coordinator/report.js';
import { waitFor } from './helpers.js';
import {
  jobEnv,
  killAll,
  readTopic,
  startCoordinator,
  startWorkers,
  status,
  type JobEnv,
} from './services.js';
import { MNIST_TASK, mnistLayout } from '../support/tasks.js';
import { startFederation } from '../../lib/testing/index.js';

afterEach(killAll);

const brokers = () => inject('brokers');
const registryUrl = () => inject('registryUrl');
const serde = () => AvroSerde.forUrl(registryUrl());

function report(job: JobEnv): RunReport {
  return JSON.parse(readFileSync(join(job.runDir, 'report.json'), 'utf8')) as RunReport;
}

async function events(job: JobEnv, done: (e: CoordinatorEvent[]) => boolean): Promise<CoordinatorEvent[]> {
  const s = serde();
  return readTopic(brokers(), topicName(job.jobId, 'events'), (v) => s.decode('CoordinatorEvent', v), {
    done,
    timeoutMs: 120_000,
  });
}

describe('federated training over Kafka', () => {
  it('trains the MLP to at least 0.85 test accuracy with 3 workers (through tributary/testing)', async () => {
    const federation = await startFederation({
      stack: { brokers: brokers(), registryUrl: registryUrl() },
      task: MNIST_TASK,
      workers: 3,
      worker: () => ({ TRIBUTARY_PARTITION: 'iid' }),
      coordinator: {
        TRIBUTARY_TARGET_ACCURACY: '0.85',
        TRIBUTARY_MAX_WALL_SECONDS: '180',
        TRIBUTARY_CONCURRENCY: '3',
        TRIBUTARY_BUFFER_K: '2',
        // Training is quick enough that two workers can reach the target before the third is up.
        TRIBUTARY_MIN_WORKERS: '3',
      },
    });
    try {
      const accuracy = await federation.waitForMetric('accuracy', (a) => a >= 0.85);
      const r = await federation.finished();
      expect(r.stopReason).toBe('target-accuracy');
      // Evaluation runs beside training: the version waiting when the target was reached is still
      // evaluated at stop, so the report may end one point after the one that met the target.
      const curve = r.accuracyCurve.map((p) => p.accuracy ?? 0);
      const reached = curve.findIndex((a) => a >= 0.85);
      expect(reached).toBeGreaterThanOrEqual(0);
      expect(curve.length - 1 - reached).toBeLessThanOrEqual(1);
      expect(curve.slice(reached)).toContain(accuracy);
      expect(r.finalAccuracy).toBe(curve.at(-1));
      expect(r.workers.map((w) => w.workerId).sort()).toEqual(['w0', 'w1', 'w2']);
      expect(r.updatesAccepted).toBeGreaterThanOrEqual(2 * r.versions);
      // The models topic holds every version 0..final (compaction keeps at least the newest).
      const versions = (await federation.readTopic('models')).map((m) => m.version);
      expect(Math.max(...versions)).toBe(r.versions);
      // The served model's topic exists for every job and stays empty unless it averages.
      expect(await federation.readTopic('served')).toEqual([]);
      // Each worker warmed its engine on its own data before it checked in (the default budget).
      for (const worker of federation.workers) {
        const warmed = worker.events('engine-warmed');
        expect(warmed, worker.output.slice(-2000)).toHaveLength(1);
        expect(warmed[0]).toMatchObject({ steps: 300, stoppedBy: 'steps' });
        const lines = worker.output.split('\n');
        const at = (event: string) => lines.findIndex((line) => line.includes(`"event":"${event}"`));
        expect(at('engine-warmed')).toBeLessThan(at('worker-started'));
      }
    } finally {
      await federation.stop();
    }
    // Its temporary run directory (report, charts) goes with it.
    expect(existsSync(join(federation.runDir, 'report.json'))).toBe(false);
  });

  it("folds a slow worker's stale updates with staleness weights below 1", async () => {
    const job = jobEnv(brokers(), registryUrl());
    // 10×, and the whole fleet checked in before the first lease: 15 local steps take a few ms, so a
    // 4× site, or one leased alone before the others are up, could come back before any step.
    const slowSite: Record<string, string> = { TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '10' };
    startWorkers(job, 3, (i) => (i === 2 ? slowSite : {}));
    const coordinator = startCoordinator(job, {
      TRIBUTARY_MAX_WALL_SECONDS: '25',
      TRIBUTARY_CONCURRENCY: '3',
      TRIBUTARY_BUFFER_K: '2',
      TRIBUTARY_LOCAL_STEPS: '15',
      TRIBUTARY_MIN_WORKERS: '3',
    });
    expect(await coordinator.exited, coordinator.output.slice(-2000)).toBe(0);
    const all = await events(job, (e) => e.some((x) => x.type === 'job-finished'));
    const slow = all.filter((e) => e.type === 'update-folded' && e.workerId === 'w2');
    expect(slow.length).toBeGreaterThan(0);
    for (const e of slow) {
      expect(e.numbers.staleness).toBeGreaterThanOrEqual(1);
      expect(e.numbers.stalenessWeight).toBeCloseTo(1 / Math.sqrt(1 + (e.numbers.staleness as number)), 9);
      expect(e.numbers.stalenessWeight).toBeLessThan(1);
    }
  });

  it('folds every accepted update exactly once across coordinator SIGKILLs mid-buffer, mid-flush and after a flush', async () => {
    const job = jobEnv(brokers(), registryUrl());
    startWorkers(job, 3, () => ({ TRIBUTARY_CHECKIN_INTERVAL_MS: '500' }));
    const common = {
      // The served average is in the step's transaction and the checkpoint: checked below.
      TRIBUTARY_SERVED_AVERAGE: '0.5',
      TRIBUTARY_MAX_VERSIONS: '12',
      TRIBUTARY_CONCURRENCY: '3',
      TRIBUTARY_BUFFER_K: '2',
      TRIBUTARY_LOCAL_STEPS: '10',
      TRIBUTARY_TASK_DEADLINE_MS: '8000',
    };
    for (const failpoint of ['fold.after@3', 'flush.before-commit@2', 'flush.after-commit@2']) {
      const doomed = startCoordinator(job, { ...common, TRIBUTARY_FAILPOINTS: failpoint });
      const code = await doomed.exited;
      expect(doomed.output, `coordinator should die at ${failpoint}`).toContain('failpoint-triggered');
      expect(code).not.toBe(0);
    }
    const survivor = startCoordinator(job, common);
    expect(await survivor.exited, survivor.output.slice(-2000)).toBe(0);
    expect(survivor.output).toContain('"event":"recovered"');

    const s = serde();
    const models = await readTopic(
      brokers(),
      topicName(job.jobId, 'models'),
      (v) => s.decode('GlobalModel', v),
      {
        done: (m: GlobalModel[]) => m.some((x) => x.version === 12),
      },
    );
    const versions = models.map((m) => m.version);
    expect(versions).toEqual(Array.from({ length: 13 }, (_, v) => v)); // 0..12, none skipped or repeated
    const folded = models.flatMap((m) => m.foldedUpdateIds);
    expect(new Set(folded).size).toBe(folded.length); // no update folded twice
    expect(folded.length).toBe(12 * 2); // K per version: none lost
    const published = await readTopic(brokers(), topicName(job.jobId, 'updates'), (v) =>
      s.decode('ModelUpdate', v),
    );
    const publishedIds = new Set(published.map((u) => u.updateId));
    for (const id of folded) expect(publishedIds.has(id)).toBe(true);

    // Every version's served model is the moving average of the models up to it, across the kills:
    // restored from the checkpoint, never restarted from the model or stepped twice.
    const served = await readTopic(brokers(), topicName(job.jobId, 'served'), (v) =>
      s.decode('GlobalModel', v),
    );
    expect(served.map((m) => m.version)).toEqual(versions);
    const layout = await mnistLayout();
    const flat = (m: GlobalModel) => joinFlat(layout, tensorsOf(m));
    // Compared by their largest difference: a failing toEqual would print 100,000 values.
    const largestDifference = (a: Float32Array, b: Float32Array) =>
      a.reduce(
        (most, x, i) => Math.max(most, Math.abs(x - (b[i] as number))),
        a.length === b.length ? 0 : Infinity,
      );
    const average = flat(models[0] as GlobalModel);
    for (const [v, model] of models.entries()) {
      if (v > 0) averageInto(average, flat(model), 0.5);
      expect(largestDifference(flat(served[v] as GlobalModel), average), `version ${v}`).toBe(0);
    }
    expect(
      largestDifference(flat(served[12] as GlobalModel), flat(models[12] as GlobalModel)),
    ).toBeGreaterThan(0);
  });

  it('hands its leases to the coordinator that replaces it: no mid-task worker is leased a second task', async () => {
    const job = jobEnv(brokers(), registryUrl());
    // Tasks of about four seconds: the kill falls while both workers train, and their updates come
    // after the replacement has taken the leases over (else they fold, rightly, as unleased).
    startWorkers(job, 2, () => ({ TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '80' }));
    const fedAvg = {
      TRIBUTARY_STRATEGY: 'fedavg',
      TRIBUTARY_CONCURRENCY: '2',
      TRIBUTARY_MAX_VERSIONS: '3',
      TRIBUTARY_LOCAL_STEPS: '10',
    };
    const doomed = startCoordinator(job, fedAvg);
    await waitFor(
      async () => {
        const s = await status(doomed);
        const training = ((s?.workers ?? []) as { state: string }[]).filter((w) => w.state === 'TRAINING');
        return (Number(s?.version ?? 0) >= 1 && training.length === 2) || undefined;
      },
      { timeoutMs: 90_000, what: 'a round in flight after version 1' },
    );
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const survivor = startCoordinator(job, fedAvg);
    expect(await survivor.exited, survivor.output.slice(-2000)).toBe(0);
    const adoptedLine = survivor.output.split('\n').find((l) => l.includes('"event":"leases-adopted"'));
    expect(adoptedLine, survivor.output.slice(-2000)).toBeDefined();
    expect((JSON.parse(adoptedLine as string) as { adopted: number }).adopted).toBe(2);
    const all = await events(job, (e) => e.some((x) => x.type === 'job-finished'));
    // Without the handover the new coordinator leases both workers a second round at once: the
    // round in flight folds as unleased (late), the second round's updates arrive stale.
    expect(all.filter((e) => e.type === 'update-rejected').map((e) => e.labels?.code)).toEqual([]);
    const folds = all.filter((e) => e.type === 'update-folded');
    expect(folds.filter((e) => e.numbers.late === 1).map((e) => e.updateId)).toEqual([]);
  });

  it("gives an expired lease's slot to another worker when a worker dies mid-task", async () => {
    const job = jobEnv(brokers(), registryUrl());
    const [victim] = startWorkers(job, 1, () => ({
      TRIBUTARY_WORKER_ID: 'victim',
      TRIBUTARY_DELAY: 'fixed',
      TRIBUTARY_DELAY_MULTIPLIER: '100',
    }));
    const coordinator = startCoordinator(job, {
      TRIBUTARY_MAX_VERSIONS: '6',
      TRIBUTARY_CONCURRENCY: '1',
      TRIBUTARY_BUFFER_K: '1',
      TRIBUTARY_LOCAL_STEPS: '10',
      TRIBUTARY_TASK_DEADLINE_MS: '4000',
    });
    await waitFor(
      async () => {
        const s = await status(coordinator);
        const workers = (s?.workers ?? []) as { workerId: string; state: string }[];
        return workers.some((w) => w.workerId === 'victim' && w.state === 'TRAINING') || undefined;
      },
      { timeoutMs: 90_000, what: 'the victim to hold a lease' },
    );
    victim?.child.kill('SIGKILL');
    startWorkers(job, 2, (i) => ({ TRIBUTARY_WORKER_ID: `healthy${i}` }));
    expect(await coordinator.exited, coordinator.output.slice(-2000)).toBe(0);
    const all = await events(job, (e) => e.some((x) => x.type === 'job-finished'));
    expect(all.some((e) => e.type === 'lease-expired' && e.workerId === 'victim')).toBe(true);
    expect(
      all.filter((e) => e.type === 'update-folded').every((e) => e.workerId?.startsWith('healthy')),
    ).toBe(true);
    expect(report(job).versions).toBe(6);
  });

  it('records malformed and hostile updates in the rejected topic with their codes while training goes on', async () => {
    const job = jobEnv(brokers(), registryUrl());
    startWorkers(job, 2);
    const coordinator = startCoordinator(job, {
      TRIBUTARY_MAX_WALL_SECONDS: '600',
      TRIBUTARY_CONCURRENCY: '2',
      TRIBUTARY_BUFFER_K: '1',
      TRIBUTARY_LOCAL_STEPS: '10',
      // The replayed update must still be inside the staleness window when it arrives: the
      // aggregator forgets folded ids older than the window (they are rejected as stale anyway),
      // and at K = 1 the default window of 20 versions can pass before the replay is sent.
      TRIBUTARY_MAX_STALENESS: '1000000',
    });
    const s = serde();
    const updatesTopic = topicName(job.jobId, 'updates');
    await waitFor(async () => (((await status(coordinator))?.version as number) >= 2 ? true : undefined), {
      timeoutMs: 90_000,
      what: 'version 2',
    });

    const [genuine] = await readTopic(
      brokers(),
      updatesTopic,
      async (v) => ({ bytes: v as Buffer, update: await s.decode('ModelUpdate', v) }),
      { done: (x) => x.length > 0 },
    );
    const schemaId = await s.register('ModelUpdate', updatesTopic);
    const layout = await mnistLayout();
    const craft = (
      updateId: string,
      changes: Partial<ModelUpdate>,
      fill = 0.001,
      shapeOverride?: number[],
    ) => {
      const tensors = splitFlat(layout, new Float32Array(layout.size).fill(fill)).map((t, i) =>
        i === 0 && shapeOverride ? { ...t, shape: shapeOverride } : t,
      );
      const [record] = toRecords<ModelUpdate>(
        {
          updateId,
          taskId: 'forged',
          jobId: job.jobId,
          workerId: 'mallory',
          baseVersion: 1,
          numExamples: 10,
          metrics: {},
          timings: { startedAtMs: 0, finishedAtMs: 0 },
          ...changes,
        },
        tensors,
        'FLOAT32',
        16 * 1024 * 1024,
      );
      return s.encode('ModelUpdate', schemaId, record as ModelUpdate);
    };
    const hostile: { key: string; value: Buffer; code: string }[] = [
      { key: 'garbage', value: Buffer.from('definitely not an update'), code: 'TRIB_DECODE_FAILED' },
      {
        key: 'unknown-schema',
        value: frame(987_654_321, Buffer.from([2, 4, 6])),
        code: 'TRIB_UNKNOWN_SCHEMA',
      },
      { key: 'nan', value: craft('nan', {}, Number.NaN), code: 'TRIB_NON_FINITE' },
      { key: 'wrong-shape', value: craft('wrong-shape', {}, 0.001, [128, 784]), code: 'TRIB_SHAPE_MISMATCH' },
      {
        key: genuine?.update.updateId ?? 'replay',
        value: genuine?.bytes ?? Buffer.alloc(0),
        code: 'TRIB_DUPLICATE_UPDATE',
      },
      { key: 'future', value: craft('future', { baseVersion: 1_000_000 }), code: 'TRIB_FUTURE_VERSION' },
    ];
    const producer = createKafka({ brokers: brokers(), clientId: 'mallory' }).producer();
    await producer.connect();
    await producer.send({ topic: updatesTopic, messages: hostile.map(({ key, value }) => ({ key, value })) });
    await producer.disconnect();

    const rejected = await readTopic(
      brokers(),
      topicName(job.jobId, 'rejected'),
      (v) => s.decode('RejectedUpdate', v),
      {
        done: (r: RejectedUpdate[]) => r.length >= hostile.length,
        timeoutMs: 90_000,
      },
    );
    expect(rejected.map((r) => r.code).sort()).toEqual(hostile.map((h) => h.code).sort());
    const garbage = rejected.find((r) => r.code === 'TRIB_DECODE_FAILED');
    expect(garbage?.originalBytes.toString()).toBe('definitely not an update');
    expect(rejected.find((r) => r.code === 'TRIB_NON_FINITE')?.workerId).toBe('mallory');

    const versionAfter = (await status(coordinator))?.version as number;
    await waitFor(
      async () => (((await status(coordinator))?.version as number) > versionAfter + 2 ? true : undefined),
      { timeoutMs: 90_000, what: 'training to continue' },
    );
    expect(coordinator.child.exitCode).toBeNull();
  });
});
