import { describe, expect, it } from 'vitest';
import { LeaseBook } from './leases.js';

const idle = (workerId: string, sentAtMs = 0) => ({
  workerId,
  silo: 's',
  numExamples: 10,
  backend: 'cpu',
  state: 'IDLE' as const,
  sentAtMs,
});

describe('LeaseBook', () => {
  it('leases nothing until minWorkers have checked in', () => {
    const book = new LeaseBook({
      concurrency: 10,
      synchronousRound: null,
      taskDeadlineMs: 1000,
      idleGraceMs: 100,
      minWorkers: 3,
    });
    ['a', 'b'].forEach((w) => book.checkIn(idle(w), 0));
    expect(book.plan(1, 0)).toEqual([]);
    book.checkIn(idle('c'), 2);
    expect(book.plan(3, 0).map((w) => w.workerId)).toEqual(['a', 'b', 'c']);
  });

  it('keeps C leases in flight among idle workers, least recently leased first', () => {
    const book = new LeaseBook({
      concurrency: 2,
      synchronousRound: null,
      taskDeadlineMs: 1000,
      idleGraceMs: 100,
    });
    ['a', 'b', 'c'].forEach((w) => book.checkIn(idle(w), 0));
    const first = book.plan(10, 0).map((w) => w.workerId);
    expect(first).toEqual(['a', 'b']);
    first.forEach((w, i) => book.issue(`t${i}`, w, 0, 10));
    expect(book.plan(11, 0)).toEqual([]);
    book.complete('t0', 'a', 500);
    expect(book.plan(501, 0).map((w) => w.workerId)).toEqual(['c']);
  });

  it('frees the slot of an expired lease and skips the unresponsive worker until it checks in again', () => {
    const book = new LeaseBook({
      concurrency: 1,
      synchronousRound: null,
      taskDeadlineMs: 1000,
      idleGraceMs: 100,
    });
    book.checkIn(idle('a'), 0);
    book.checkIn(idle('b'), 0);
    book.issue('t0', 'a', 0, 0);
    expect(book.expire(999)).toEqual([]);
    expect(book.expire(1000).map((l) => l.taskId)).toEqual(['t0']);
    book.checkIn(idle('a', 500), 1001); // sent before the expiry: still unresponsive
    expect(book.plan(1002, 0).map((w) => w.workerId)).toEqual(['b']);
    book.issue('t1', 'b', 0, 1002);
    book.complete('t1', 'b', 1400);
    book.checkIn(idle('a', 1500), 1500);
    expect(book.plan(1501, 0).map((w) => w.workerId)).toContain('a');
  });

  it('cancels a lease when its worker says it is idle well after the lease, or leaving', () => {
    const book = new LeaseBook({
      concurrency: 2,
      synchronousRound: null,
      taskDeadlineMs: 10_000,
      idleGraceMs: 100,
    });
    book.checkIn(idle('a'), 0);
    book.checkIn(idle('b'), 0);
    book.issue('t0', 'a', 0, 0);
    book.issue('t1', 'b', 0, 0);
    expect(book.checkIn(idle('a', 50), 60)).toBeUndefined(); // within grace: the task may still be on its way
    expect(book.checkIn(idle('a', 200), 210)?.taskId).toBe('t0');
    expect(book.checkIn({ ...idle('b', 20), state: 'LEAVING' }, 30)?.taskId).toBe('t1');
  });

  it('backs a worker off after rejected updates, doubling from 1 s to 60 s, until one is folded', () => {
    const book = new LeaseBook({
      concurrency: 1,
      synchronousRound: null,
      taskDeadlineMs: 600_000,
      idleGraceMs: 100,
    });
    book.checkIn(idle('a'), 0);
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const [worker] = book.plan(now, 0);
      expect(worker?.workerId).toBe('a');
      const lease = book.issue(`t${i}`, 'a', 0, now);
      book.complete(lease.taskId, 'a', now);
      book.rejected(lease, now);
      const until = book.workers.get('a')?.backoffUntilMs ?? 0;
      waits.push(until - now);
      expect(book.plan(until - 1, 0)).toEqual([]);
      now = until;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    const lease = book.issue('ok', 'a', 0, now);
    book.complete('ok', 'a', now);
    book.folded(lease);
    book.rejected(lease, now);
    expect((book.workers.get('a')?.backoffUntilMs ?? 0) - now).toBe(1000);
  });

  it('runs synchronous rounds of K: never more than K − buffered leases', () => {
    const book = new LeaseBook({
      concurrency: 3,
      synchronousRound: 3,
      taskDeadlineMs: 1000,
      idleGraceMs: 100,
    });
    ['a', 'b', 'c', 'd'].forEach((w) => book.checkIn(idle(w), 0));
    book.plan(1, 0).forEach((w, i) => book.issue(`t${i}`, w.workerId, 0, 1));
    book.complete('t0', 'a', 500); // one update in the buffer
    expect(book.plan(501, 1)).toEqual([]); // 2 leases + 1 buffered = K
    book.expire(1001); // both remaining leases expire mid-round
    expect(book.plan(1002, 1).map((w) => w.workerId)).toEqual(['d', 'a']);
  });

  it('forgets workers that left or went quiet, never one holding a lease, and knows at most maxWorkers', () => {
    const memory = { forgetAfterMs: 10_000, leftForgottenAfterMs: 1000, maxWorkers: 3 };
    const policy = { concurrency: 1, synchronousRound: null, taskDeadlineMs: 60_000, idleGraceMs: 100 };
    const book = new LeaseBook(policy, memory);
    book.checkIn(idle('a'), 0);
    book.checkIn(idle('b'), 0);
    book.checkIn(idle('c'), 0);
    expect(book.checkIn(idle('d'), 0)).toBeUndefined();
    expect([...book.workers.keys()]).toEqual(['a', 'b', 'c']);
    expect(book.refusedCheckIns).toBe(1);
    book.issue('t0', 'a', 0, 0);
    book.checkIn({ ...idle('b', 100), state: 'LEAVING' }, 100);
    book.expire(500); // b left only 400 ms ago
    expect(book.workers.has('b')).toBe(true);
    book.expire(1500);
    expect(book.workers.has('b')).toBe(false);
    book.checkIn(idle('d', 1600), 1600); // room again
    expect(book.workers.has('d')).toBe(true);
    book.checkIn(idle('d', 9000), 9000);
    book.expire(12_000); // c quiet for 12 s: forgotten; a quiet as long but leased: kept
    expect([...book.workers.keys()].sort()).toEqual(['a', 'd']);
    expect(book.leaseOf('a')?.taskId).toBe('t0');
  });

  it('finds a worker’s live lease through every way a lease ends', () => {
    const policy = { concurrency: 3, synchronousRound: null, taskDeadlineMs: 1000, idleGraceMs: 100 };
    const book = new LeaseBook(policy);
    ['a', 'b', 'c'].forEach((w) => book.checkIn(idle(w), 0));
    book.issue('ta', 'a', 0, 0);
    book.issue('tb', 'b', 0, 0);
    book.issue('tc', 'c', 0, 500);
    expect(book.complete('ta', 'a', 100)?.workerId).toBe('a');
    expect(book.leaseOf('a')).toBeUndefined();
    expect(book.checkIn({ ...idle('b', 400), state: 'LEAVING' }, 400)?.taskId).toBe('tb');
    expect(book.leaseOf('b')).toBeUndefined();
    expect(book.expire(1200).map((l) => l.taskId)).toEqual([]);
    expect(book.leaseOf('c')?.taskId).toBe('tc');
    expect(book.expire(1500).map((l) => l.taskId)).toEqual(['tc']);
    expect(book.leaseOf('c')).toBeUndefined();
    expect(book.complete('tc', 'c', 1500)).toBeUndefined();
  });

  it('takes an update from the leased worker as its IDLE check-in: leasable again at once', () => {
    const policy = { concurrency: 1, synchronousRound: null, taskDeadlineMs: 10_000, idleGraceMs: 100 };
    const book = new LeaseBook(policy);
    ['a', 'b'].forEach((w) => book.checkIn(idle(w), 0));
    book.issue('t0', 'a', 0, 1);
    expect(book.workers.get('a')?.state).toBe('TRAINING');
    expect(book.complete('t0', 'a', 50)?.taskId).toBe('t0');
    expect(book.workers.get('a')).toMatchObject({ state: 'IDLE', lastSeenMs: 50 });
    book.issue('t1', 'b', 0, 51);
    book.complete('t1', 'b', 60);
    expect(book.plan(61, 0).map((w) => w.workerId)).toEqual(['a']);
  });

  it('reads a TRAINING check-in that arrives after its task’s update as old news', () => {
    const policy = { concurrency: 1, synchronousRound: null, taskDeadlineMs: 10_000, idleGraceMs: 100 };
    const book = new LeaseBook(policy);
    book.checkIn(idle('a'), 0);
    book.issue('t0', 'a', 0, 1);
    book.complete('t0', 'a', 50);
    // Check-ins and updates are different topics: the check-in sent on t0's arrival comes second.
    book.checkIn({ ...idle('a', 2), state: 'TRAINING', currentTaskId: 't0' }, 51);
    expect(book.workers.get('a')?.state).toBe('IDLE');
    expect(book.plan(52, 0).map((w) => w.workerId)).toEqual(['a']);
    book.issue('t1', 'a', 1, 52);
    book.checkIn({ ...idle('a', 53), state: 'TRAINING', currentTaskId: 't1' }, 54);
    expect(book.workers.get('a')?.state).toBe('TRAINING');
  });

  it('ends the lease but keeps its worker training when the update names another worker', () => {
    const policy = { concurrency: 2, synchronousRound: null, taskDeadlineMs: 10_000, idleGraceMs: 100 };
    const book = new LeaseBook(policy);
    ['a', 'b'].forEach((w) => book.checkIn(idle(w), 0));
    book.issue('t0', 'a', 0, 1);
    expect(book.complete('t0', 'mallory', 50)?.workerId).toBe('a');
    expect(book.workers.get('a')?.state).toBe('TRAINING');
    expect(book.plan(51, 0).map((w) => w.workerId)).toEqual(['b']);
  });

  it('leaves a worker training on a later task when a late update answers its expired lease', () => {
    const policy = { concurrency: 1, synchronousRound: null, taskDeadlineMs: 1000, idleGraceMs: 100 };
    const book = new LeaseBook(policy);
    book.checkIn(idle('a'), 0);
    book.issue('t0', 'a', 0, 0);
    book.expire(1000);
    book.checkIn(idle('a', 1100), 1100);
    book.issue('t1', 'a', 1, 1101);
    expect(book.complete('t0', 'a', 1200)).toBeUndefined();
    expect(book.workers.get('a')?.state).toBe('TRAINING');
    expect(book.leaseOf('a')?.taskId).toBe('t1');
  });

  describe('adopting a previous coordinator’s leases', () => {
    const lease = (taskId: string, workerId: string, issuedAtMs: number, deadlineMs = issuedAtMs + 1000) => ({
      taskId,
      workerId,
      baseVersion: 3,
      issuedAtMs,
      deadlineMs,
    });
    const sync = { concurrency: 4, synchronousRound: 2, taskDeadlineMs: 1000, idleGraceMs: 100 };

    it('keeps a mid-task worker out of the next plan until its update ends the adopted lease', () => {
      const book = new LeaseBook(sync);
      expect(book.adopt([lease('t1', 'a', 10), lease('t2', 'b', 10)], 20)).toBe(2);
      // Check-ins replayed after the adoption: their last word was IDLE, from before the task.
      ['a', 'b', 'c'].forEach((w) => book.checkIn(idle(w, 5), 30));
      expect(book.plan(40, 0)).toEqual([]); // the round of two is in flight
      expect(book.complete('t1', 'a', 50)?.taskId).toBe('t1');
      expect(book.plan(51, 1).map((w) => w.workerId)).toEqual([]); // one buffered, one in flight
      book.complete('t2', 'b', 60);
      expect(book.plan(61, 0).map((w) => w.workerId)).toEqual(['a', 'b']);
    });

    it('leases nothing while the handover is on its way, and skips a task whose update came first', () => {
      const book = new LeaseBook({ ...sync, synchronousRound: null });
      book.expectHandover();
      ['a', 'b', 'c'].forEach((w) => book.checkIn(idle(w, 5), 30));
      expect(book.plan(40, 0)).toEqual([]);
      // a's update is read before the handover: its lease is over by the time it is taken over.
      expect(book.complete('t1', 'a', 45)).toBeUndefined();
      expect(book.adopt([lease('t1', 'a', 10), lease('t2', 'b', 10)], 50)).toBe(1);
      expect(book.leaseOf('a')).toBeUndefined();
      expect(book.plan(51, 0).map((w) => w.workerId)).toEqual(['a', 'c']);
    });

    it('lets a replayed IDLE check-in sent past the grace after its task end the adopted lease', () => {
      const book = new LeaseBook(sync);
      book.adopt([lease('t1', 'a', 10)], 20);
      book.checkIn(idle('a', 5), 30);
      expect(book.leaseOf('a')?.taskId).toBe('t1');
      book.checkIn(idle('a', 111), 40); // dropped the task, said so after the grace
      expect(book.leaseOf('a')).toBeUndefined();
    });

    it('leaves out expired leases and tasks it holds; a worker’s latest lease is its lease', () => {
      const book = new LeaseBook({ ...sync, synchronousRound: null });
      book.checkIn(idle('a'), 0);
      book.issue('mine', 'c', 0, 0);
      const adopted = book.adopt(
        [lease('t2', 'a', 20), lease('old', 'b', 0, 15), lease('t1', 'a', 10), lease('mine', 'c', 0)],
        16,
      );
      expect(adopted).toBe(2);
      expect(book.leaseOf('a')?.taskId).toBe('t2');
      expect(book.leaseOf('b')).toBeUndefined();
      expect(book.workers.get('a')?.state).toBe('TRAINING');
      // The earlier task's update, re-read after the adoption, does not make `a` idle: it holds t2.
      book.complete('t1', 'a', 30);
      expect(book.workers.get('a')?.state).toBe('TRAINING');
      book.complete('t2', 'a', 40);
      expect(book.workers.get('a')?.state).toBe('IDLE');
    });
  });
});
