import { describe, expect, it } from 'vitest';
import {
  decodeLeaseHandover,
  encodeLeaseHandover,
  handoverMaxBytes,
  tasksAsLeases,
  validLease,
} from './lease-handover.js';
import type { TrainTask } from '../../lib/wire/schemas.js';

const lease = (taskId: string, workerId = 'w', issuedAtMs = 100, deadlineMs = 1100) => ({
  taskId,
  workerId,
  baseVersion: 7,
  issuedAtMs,
  deadlineMs,
});

const task = (taskId: string, over: Partial<TrainTask> = {}): TrainTask => ({
  ...lease(taskId),
  jobId: 'job',
  hyperparameters: { localEpochs: 1, localSteps: null, batchSize: 32, learningRate: 0.1, proximalMu: null },
  ...over,
});

describe('lease handover', () => {
  it('decodes what it encodes, through JSON as a manifest carries it', () => {
    const leases = [lease('t1', 'a'), lease('t2', 'b', 200, 1200)];
    const json = JSON.parse(JSON.stringify(encodeLeaseHandover(leases, 150, 10_000))) as unknown;
    expect(decodeLeaseHandover(json, 10_000)).toEqual({
      atMs: 150,
      leases: [leases[1], leases[0]],
      omitted: 0,
    });
  });

  it('keeps the newest leases that fit its share of the manifest, and counts the rest', () => {
    const leases = Array.from({ length: 1000 }, (_, i) => lease(`task-${i}`, `worker-${i}`, i, i + 1000));
    const encoded = encodeLeaseHandover(leases, 2000, 10_000);
    expect(JSON.stringify(encoded.live).length).toBeLessThanOrEqual(10_000);
    expect(encoded.live.length).toBeGreaterThan(50);
    expect(encoded.live.length + encoded.omitted).toBe(1000);
    expect(encoded.live.map((e) => e[3])).toEqual(
      Array.from({ length: encoded.live.length }, (_, i) => 999 - i),
    );
    expect(handoverMaxBytes(4 * 1024 * 1024)).toBe(1024 * 1024);
    expect(handoverMaxBytes(1024 * 1024)).toBe(256 * 1024);
  });

  it('reads a checkpoint without leases, or with unreadable ones, as none to hand over', () => {
    for (const value of [undefined, null, 'x', 3, {}, { atMs: 'soon', live: [] }, { atMs: 1, live: {} }])
      expect(decodeLeaseHandover(value, 10_000)).toBeNull();
  });

  it('drops entries that lie about ids, numbers or order, and caps every deadline', () => {
    const live = [
      ['ok', 'w', 1, 10, 20],
      ['', 'w', 1, 10, 20],
      ['t', 'x'.repeat(513), 1, 10, 20],
      ['t', 'é'.repeat(300), 1, 10, 20], // 600 bytes: ids are bounded in bytes, as an update's
      ['t', 'w', -1, 10, 20],
      ['t', 'w', 1.5, 10, 20],
      ['t', 'w', 1, 30, 20],
      ['t', 'w', 1, 10, Number.MAX_VALUE],
      ['t', 'w', 1, 10],
      'not an entry',
      ['far', 'w', 1, 10, 9_000_000],
    ];
    const decoded = decodeLeaseHandover({ atMs: 5, live }, 1000);
    expect(decoded?.leases).toEqual([
      { taskId: 'ok', workerId: 'w', baseVersion: 1, issuedAtMs: 10, deadlineMs: 20 },
      { taskId: 'far', workerId: 'w', baseVersion: 1, issuedAtMs: 10, deadlineMs: 1000 },
    ]);
    expect(
      validLease({ taskId: 7, workerId: 'w', baseVersion: 0, issuedAtMs: 0, deadlineMs: 1 }, 9),
    ).toBeNull();
  });

  it('takes the job’s tasks issued since the checkpoint, and only valid ones', () => {
    const tasks = [
      task('since'),
      task('before', { issuedAtMs: 99 }),
      task('other-job', { jobId: 'another' }),
      task('no-worker', { workerId: '' }),
      task('at', { issuedAtMs: 100, deadlineMs: 5000 }),
    ];
    expect(tasksAsLeases(tasks, 'job', 100, 2000).map((l) => [l.taskId, l.deadlineMs])).toEqual([
      ['since', 1100],
      ['at', 2000],
    ]);
  });
});
