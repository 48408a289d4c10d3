/**
 * The fleet simulator: 300 virtual workers in two processes and one real worker process complete a
 * job together, and the topics cannot tell them apart: the same schemas, keys and fields, tasks on
 * the partition of the worker they are leased to, and a multi-record update in a transaction of
 * its worker's own transactional id, whoever sent it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { partitionOfKey } from '../../lib/kafka/keyed-partitions.js';
import { readTopicNow } from '../../lib/kafka/read.js';
import { topicName } from '../../lib/kafka/topics.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { virtualWorkerId } from '../../services/worker/fleet.js';

const TASK = fileURLToPath(new URL('../../examples/device-fleet/task.ts', import.meta.url));
const CHUNKED = { TRIBUTARY_MAX_CHUNK_BYTES: '1024' };

let federation: Federation | undefined;
afterAll(async () => {
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir && federation)
    for (const p of [federation.coordinator, ...federation.workers])
      writeFileSync(join(dir, `fleet-${p.name}-${p.child.pid}.log`), p.output);
  await federation?.stop();
});

type Raw = { partition: number; message: { key: Buffer | null; value: Buffer | null } };
const schemaIdOf = (r: Raw) => r.message.value?.readInt32BE(1);
const inTransaction = (r: Raw) =>
  (r.message as { batchContext?: { inTransaction?: boolean } }).batchContext?.inTransaction;
const producerOf = (r: Raw) =>
  (r.message as { batchContext?: { producerId?: string } }).batchContext?.producerId;

describe('fleet simulator', () => {
  it('runs 300 virtual workers beside a real one, indistinguishable on the wire', async () => {
    const stack = { brokers: inject('brokers'), registryUrl: inject('registryUrl') };
    const fleets = [100, 200];
    federation = await startFederation({
      stack,
      task: TASK,
      // hidden 64: 836 parameters, 3.3 KB, so a 1 KB chunk limit makes multi-record updates.
      taskConfig: { hidden: 64 },
      workers: 3,
      coordinator: {
        TRIBUTARY_CONCURRENCY: '300',
        // Every worker online before the first lease: simulators bring theirs up 50 at a time, and
        // 900 updates can be done before the last batch has checked in.
        TRIBUTARY_MIN_WORKERS: '301',
        TRIBUTARY_BUFFER_K: '30',
        TRIBUTARY_MAX_VERSIONS: '30',
        TRIBUTARY_EVALUATE_EVERY: '10',
        TRIBUTARY_TARGET_ACCURACY: '0',
        TRIBUTARY_TASK_DEADLINE_MS: '60000',
      },
      // Worker 0 is a real worker (the task's training), chunked; 1 and 2 host 100 (chunked) and 200
      // virtual workers.
      worker: (i) =>
        i === 0
          ? { TRIBUTARY_WORKER_ID: 'real', TRIBUTARY_SILO: 'site-real', ...CHUNKED }
          : {
              TRIBUTARY_WORKER_ID: `fleet${i}`,
              TRIBUTARY_SILO: `site-fleet${i}`,
              TRIBUTARY_VIRTUAL_WORKERS: String(fleets[i - 1]),
              TRIBUTARY_SYNTHETIC_TRAIN_MS: '300',
              TRIBUTARY_LOG_LEVEL: 'warn',
              ...(i === 1 ? CHUNKED : {}),
            },
    });
    const report = await federation.finished({ timeoutMs: 240_000 });
    expect(report.stopReason).toBe('max-versions');

    const virtual = fleets.flatMap((n, f) =>
      Array.from({ length: n }, (_, i) => virtualWorkerId(`fleet${f + 1}`, i)),
    );
    const checkIns = await federation.readTopic('checkins');
    const checkedIn = new Set(checkIns.map((c) => c.workerId));
    for (const id of [...virtual, 'real']) expect(checkedIn.has(id), id).toBe(true);
    // One record an update (docs/protocol.md, rules 2 and 3): no worker checks in on a task's arrival.
    expect(checkIns.filter((c) => c.state === 'TRAINING').map((c) => c.workerId)).toEqual([]);
    const events = await federation.readTopic('events');
    const foldedBy = new Set(events.filter((e) => e.type === 'update-folded').map((e) => e.workerId));
    expect(foldedBy.has('real')).toBe(true);
    // Least recently leased first: 30 versions × K = 30 is 900 updates, enough for every virtual worker.
    expect(virtual.filter((id) => !foldedBy.has(id))).toEqual([]);
    expect(await federation.readTopic('rejected')).toEqual([]);

    // The wire, raw: schema ids, keys, fields, partitions, transactions.
    const kafka = createKafka({ brokers: [...stack.brokers], clientId: 'fleet-test' });
    const serde = AvroSerde.forUrl(stack.registryUrl);
    const raw = async (kind: 'checkins' | 'updates' | 'tasks') =>
      (await readTopicNow(kafka, topicName(federation!.jobId, kind))) as unknown as Raw[];
    const [rawCheckIns, rawUpdates, rawTasks] = await Promise.all([
      raw('checkins'),
      raw('updates'),
      raw('tasks'),
    ]);

    const isVirtual = (id: string) => id.startsWith('fleet');
    const shape = async (r: Raw, name: 'WorkerCheckIn' | 'ModelUpdate') => {
      const record = (await serde.decode(name, r.message.value)) as unknown as Record<string, unknown>;
      // `chunk` is set only on a chunked update (compared below, with the transactions).
      const present = Object.keys(record).filter(
        (k) => k !== 'chunk' && record[k] !== null && record[k] !== undefined,
      );
      return {
        record,
        fields: present.sort().join(','),
        schemaId: schemaIdOf(r),
        key: r.message.key?.toString(),
      };
    };
    for (const [records, name, keyOf] of [
      [rawCheckIns, 'WorkerCheckIn', (rec: Record<string, unknown>) => rec.workerId],
      [rawUpdates, 'ModelUpdate', (rec: Record<string, unknown>) => rec.updateId],
    ] as const) {
      const shapes = await Promise.all(records.map((r) => shape(r, name)));
      for (const s of shapes) expect(s.key).toBe(keyOf(s.record));
      const byKind = (v: boolean) => shapes.filter((s) => isVirtual(String(s.record.workerId)) === v);
      const [real, fleet] = [byKind(false), byKind(true)];
      expect(real.length).toBeGreaterThan(0);
      expect(new Set(fleet.map((s) => s.schemaId))).toEqual(new Set(real.map((s) => s.schemaId)));
      expect(new Set(fleet.map((s) => s.fields))).toEqual(new Set(real.map((s) => s.fields)));
    }

    // Every task on the partition of the worker it is leased to.
    const tasks = await Promise.all(
      rawTasks.map(async (r) => ({ r, task: await serde.decode('TrainTask', r.message.value) })),
    );
    for (const { r, task } of tasks) expect(r.partition).toBe(partitionOfKey(task.workerId, 32));

    // Multi-record updates in transactions, one transactional producer per worker, real or virtual.
    const updates = await Promise.all(
      rawUpdates.map(async (r) => ({ r, u: await serde.decode('ModelUpdate', r.message.value) })),
    );
    const chunked = updates.filter(({ u }) => u.chunk !== null && u.chunk.count > 1);
    const single = updates.filter(({ u }) => u.chunk === null || u.chunk.count === 1);
    expect(chunked.some(({ u }) => u.workerId === 'real')).toBe(true);
    expect(chunked.some(({ u }) => u.workerId.startsWith('fleet1-'))).toBe(true);
    expect(chunked.every(({ r }) => inTransaction(r) === true)).toBe(true);
    expect(single.some(({ u }) => u.workerId.startsWith('fleet2-'))).toBe(true);
    expect(single.every(({ r }) => inTransaction(r) === false)).toBe(true);
    const producersOfWorker = new Map<string, Set<string | undefined>>();
    for (const { r, u } of chunked)
      producersOfWorker.set(u.workerId, (producersOfWorker.get(u.workerId) ?? new Set()).add(producerOf(r)));
    const producerWorkers = new Map<string | undefined, string>();
    for (const [worker, producers] of producersOfWorker)
      for (const p of producers) {
        expect(producerWorkers.get(p) ?? worker, `producer ${p} shared by two workers`).toBe(worker);
        producerWorkers.set(p, worker);
      }
  }, 360_000);
});
