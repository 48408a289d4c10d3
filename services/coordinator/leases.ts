/**
 * Pace steering, pure: which workers are available, which tasks are leased until when, and how
 * many new leases to issue. FedBuff keeps C tasks in flight; synchronous FedAvg (maxStaleness 0)
 * issues a round of K and replaces only leases that expire, so a round never exceeds K updates.
 */

export interface WorkerRecord {
  readonly workerId: string;
  silo: string;
  numExamples: number;
  backend: string;
  state: 'IDLE' | 'TRAINING' | 'LEAVING';
  lastSeenMs: number;
  lastLeasedMs: number;
  /** An expired lease marks a worker unresponsive until it checks in again after the expiry. */
  unresponsiveSinceMs: number | null;
  /** The latest problem the worker reported (a model it could not read, ...), or null. */
  problem: { code: string; message: string; version: number | null; atMs: number } | null;
}

export interface Lease {
  readonly taskId: string;
  readonly workerId: string;
  readonly baseVersion: number;
  readonly issuedAtMs: number;
  readonly deadlineMs: number;
}

export interface PacingPolicy {
  readonly concurrency: number;
  readonly synchronousRound: number | null;
  readonly taskDeadlineMs: number;
  /** A check-in sent this long after a lease was issued, saying IDLE, means the task was dropped. */
  readonly idleGraceMs: number;
}

export class LeaseBook {
  readonly workers = new Map<string, WorkerRecord>();
  readonly leases = new Map<string, Lease>();

  constructor(private readonly policy: PacingPolicy) {}

  leaseOf(workerId: string): Lease | undefined {
    for (const lease of this.leases.values()) if (lease.workerId === workerId) return lease;
    return undefined;
  }

  /** Records a check-in; returns a lease it cancels (the worker says it is idle or leaving). */
  checkIn(
    c: {
      workerId: string;
      silo: string;
      numExamples: number;
      backend: string;
      state: WorkerRecord['state'];
      sentAtMs: number;
      problem?: WorkerRecord['problem'];
    },
    nowMs: number,
  ): Lease | undefined {
    const previous = this.workers.get(c.workerId);
    const record: WorkerRecord = previous ?? {
      workerId: c.workerId,
      silo: c.silo,
      numExamples: c.numExamples,
      backend: c.backend,
      state: c.state,
      lastSeenMs: nowMs,
      lastLeasedMs: 0,
      unresponsiveSinceMs: null,
      problem: null,
    };
    Object.assign(record, {
      silo: c.silo,
      numExamples: c.numExamples,
      backend: c.backend,
      state: c.state,
      lastSeenMs: nowMs,
      problem: c.problem ?? null,
    });
    if (record.unresponsiveSinceMs !== null && c.sentAtMs > record.unresponsiveSinceMs)
      record.unresponsiveSinceMs = null;
    this.workers.set(c.workerId, record);
    const lease = this.leaseOf(c.workerId);
    if (
      lease &&
      (c.state === 'LEAVING' ||
        (c.state === 'IDLE' && c.sentAtMs > lease.issuedAtMs + this.policy.idleGraceMs))
    ) {
      this.leases.delete(lease.taskId);
      return lease;
    }
    return undefined;
  }

  /** Ends the lease a task's update answered (whether or not it was still live). */
  complete(taskId: string): Lease | undefined {
    const lease = this.leases.get(taskId);
    this.leases.delete(taskId);
    return lease;
  }

  expire(nowMs: number): Lease[] {
    const expired: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (lease.deadlineMs <= nowMs) {
        expired.push(lease);
        this.leases.delete(lease.taskId);
        const worker = this.workers.get(lease.workerId);
        if (worker) worker.unresponsiveSinceMs = nowMs;
      }
    }
    return expired;
  }

  /** Workers to lease to now, least recently leased first. */
  plan(nowMs: number, bufferCount: number): WorkerRecord[] {
    const target =
      this.policy.synchronousRound === null
        ? this.policy.concurrency
        : this.policy.synchronousRound - bufferCount;
    const slots = target - this.leases.size;
    if (slots <= 0) return [];
    const leased = new Set([...this.leases.values()].map((l) => l.workerId));
    return [...this.workers.values()]
      .filter((w) => w.state === 'IDLE' && !leased.has(w.workerId) && w.unresponsiveSinceMs === null)
      .sort((a, b) => a.lastLeasedMs - b.lastLeasedMs || a.workerId.localeCompare(b.workerId))
      .slice(0, slots)
      .map((w) => {
        w.lastLeasedMs = nowMs;
        return w;
      });
  }

  issue(taskId: string, workerId: string, baseVersion: number, nowMs: number): Lease {
    const lease = {
      taskId,
      workerId,
      baseVersion,
      issuedAtMs: nowMs,
      deadlineMs: nowMs + this.policy.taskDeadlineMs,
    };
    this.leases.set(taskId, lease);
    const worker = this.workers.get(workerId);
    if (worker) worker.state = 'TRAINING';
    return lease;
  }
}
