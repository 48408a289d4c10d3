/**
 * Pace steering, pure: which workers are available, which tasks are leased until when, and how
 * many new leases to issue. FedBuff keeps C tasks in flight; synchronous FedAvg (maxStaleness 0)
 * issues a round of K and replaces only leases that expire, so a round never exceeds K updates.
 * A worker whose update answering its lease was rejected waits before its next lease, twice as
 * long after each rejection in a row (1 s up to 60 s), so a worker whose updates are always refused
 * (a task that does not suit the guard, a broken site) is not handed tasks in a tight loop.
 */

export const REJECTION_BACKOFF = { firstMs: 1000, maxMs: 60_000 } as const;

/**
 * A worker with no lease that said LEAVING a minute ago, or has not checked in for ten minutes, is
 * forgotten (known again at its next check-in), and at most 100,000 are known at once: a fleet's
 * churn, or check-ins under made-up ids, cannot grow the coordinator's memory without bound.
 */
export const WORKER_MEMORY = {
  forgetAfterMs: 10 * 60_000,
  leftForgottenAfterMs: 60_000,
  maxWorkers: 100_000,
} as const;

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
  /** Updates rejected in a row, and until when the worker gets no lease because of them. */
  rejectedInARow: number;
  backoffUntilMs: number;
  /**
   * The task whose update last said this worker was idle again. Check-ins and updates travel on
   * different topics, so its TRAINING check-in can be read after the update: old news, not a state.
   */
  answeredTaskId: string | null;
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
  /**
   * No lease until this many workers have checked in (once reached, leasing never waits again):
   * a fleet that comes online over seconds takes part from the first version. 0 or absent: none.
   */
  readonly minWorkers?: number;
}

export class LeaseBook {
  readonly workers = new Map<string, WorkerRecord>();
  readonly leases = new Map<string, Lease>();
  /** The live lease of each leased worker (task id), so a check-in finds it without a scan. */
  private readonly leaseOfWorker = new Map<string, string>();
  /** Check-ins of new workers refused because `maxWorkers` were known. */
  refusedCheckIns = 0;
  private forgottenAtMs = 0;
  private quorate = false;
  /**
   * While a previous coordinator's leases are on their way (expectHandover → adopt): the tasks
   * updates answered meanwhile, which are then not taken over. Nothing is leased until then.
   */
  private answeredBeforeHandover: Set<string> | null = null;

  constructor(
    private readonly policy: PacingPolicy,
    private readonly memory: { [K in keyof typeof WORKER_MEMORY]: number } = WORKER_MEMORY,
  ) {}

  /** The pacing a coordinator's config asks for (synchronous rounds when maxStaleness is 0). */
  static forConfig(config: {
    concurrency: number;
    taskDeadlineMs: number;
    minWorkers: number;
    aggregation: { maxStaleness: number; bufferSize: number };
  }): LeaseBook {
    return new LeaseBook({
      concurrency: config.concurrency,
      minWorkers: config.minWorkers,
      synchronousRound: config.aggregation.maxStaleness === 0 ? config.aggregation.bufferSize : null,
      taskDeadlineMs: config.taskDeadlineMs,
      idleGraceMs: 3000,
    });
  }

  /** Workers that can be asked for an evaluation: present, responsive, and reporting no problem. */
  askable(): { workerId: string; silo: string }[] {
    return [...this.workers.values()]
      .filter((w) => w.state !== 'LEAVING' && w.unresponsiveSinceMs === null && w.problem === null)
      .map((w) => ({ workerId: w.workerId, silo: w.silo }));
  }

  leaseOf(workerId: string): Lease | undefined {
    const taskId = this.leaseOfWorker.get(workerId);
    return taskId === undefined ? undefined : this.leases.get(taskId);
  }

  private end(lease: Lease): void {
    this.leases.delete(lease.taskId);
    if (this.leaseOfWorker.get(lease.workerId) === lease.taskId) this.leaseOfWorker.delete(lease.workerId);
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
      currentTaskId?: string | null;
      problem?: WorkerRecord['problem'];
    },
    nowMs: number,
  ): Lease | undefined {
    const previous = this.workers.get(c.workerId);
    if (!previous && this.workers.size >= this.memory.maxWorkers) {
      this.refusedCheckIns += 1;
      return undefined;
    }
    const record: WorkerRecord = previous ?? {
      workerId: c.workerId,
      silo: c.silo,
      numExamples: c.numExamples,
      backend: c.backend,
      state: c.state,
      lastSeenMs: nowMs,
      lastLeasedMs: 0,
      unresponsiveSinceMs: null,
      rejectedInARow: 0,
      backoffUntilMs: 0,
      answeredTaskId: null,
      problem: null,
    };
    const answered =
      c.state === 'TRAINING' && c.currentTaskId != null && c.currentTaskId === record.answeredTaskId;
    Object.assign(record, {
      silo: c.silo,
      numExamples: c.numExamples,
      backend: c.backend,
      state: answered ? record.state : c.state,
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
      this.end(lease);
      return lease;
    }
    return undefined;
  }

  /**
   * Ends the lease a task's update answered (whether or not it was still live). An update from the
   * worker the lease named also says that worker is idle again (docs/protocol.md, rule 2): it can
   * be leased to at once, without an IDLE check-in of its own, which would cost the broker, this
   * process and the worker a record for every update.
   */
  complete(taskId: string, fromWorkerId: string, nowMs: number): Lease | undefined {
    const lease = this.leases.get(taskId);
    if (!lease) {
      this.answeredBeforeHandover?.add(taskId);
      return undefined;
    }
    this.end(lease);
    const worker = this.workers.get(lease.workerId);
    if (worker && lease.workerId === fromWorkerId) {
      // One LEAVING stays so; one holding a later lease (adopted after a restart, whose update is
      // read after that lease's task was issued) is still training.
      if (worker.state === 'TRAINING' && !this.leaseOfWorker.has(worker.workerId)) worker.state = 'IDLE';
      worker.lastSeenMs = nowMs;
      worker.answeredTaskId = taskId;
    }
    return lease;
  }

  /** The live leases: what a checkpoint hands to the next coordinator. */
  live(): Lease[] {
    return [...this.leases.values()];
  }

  /** A previous coordinator's leases are coming (adopt): lease nothing until they are taken over. */
  expectHandover(): void {
    this.answeredBeforeHandover ??= new Set();
  }

  /**
   * Takes over leases a previous coordinator issued (./lease-handover.ts), oldest first: their
   * updates then end them as they would have ended its own, and their workers are not leased a
   * second task meanwhile. Left out: expired ones, tasks it holds, and tasks whose update was read
   * since expectHandover(). A worker's latest lease is its lease. Leasing resumes; returns how many
   * it took.
   */
  adopt(leases: readonly Lease[], nowMs: number): number {
    const answered = this.answeredBeforeHandover ?? new Set<string>();
    this.answeredBeforeHandover = null;
    let adopted = 0;
    for (const lease of [...leases].sort((a, b) => a.issuedAtMs - b.issuedAtMs)) {
      if (lease.deadlineMs <= nowMs || this.leases.has(lease.taskId) || answered.has(lease.taskId)) continue;
      this.leases.set(lease.taskId, lease);
      this.leaseOfWorker.set(lease.workerId, lease.taskId);
      const worker = this.workers.get(lease.workerId);
      if (worker && worker.state === 'IDLE') worker.state = 'TRAINING';
      adopted += 1;
    }
    return adopted;
  }

  expire(nowMs: number): Lease[] {
    const expired: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (lease.deadlineMs <= nowMs) {
        expired.push(lease);
        this.end(lease);
        const worker = this.workers.get(lease.workerId);
        if (worker) worker.unresponsiveSinceMs = nowMs;
      }
    }
    this.forget(nowMs);
    return expired;
  }

  /** Drops workers with no lease that left, or went quiet (a scan at most once a second). */
  private forget(nowMs: number): void {
    if (nowMs - this.forgottenAtMs < 1000) return;
    this.forgottenAtMs = nowMs;
    for (const [workerId, worker] of this.workers) {
      const quietMs = nowMs - worker.lastSeenMs;
      const left = worker.state === 'LEAVING' && quietMs > this.memory.leftForgottenAfterMs;
      if (!this.leaseOfWorker.has(workerId) && (left || quietMs > this.memory.forgetAfterMs))
        this.workers.delete(workerId);
    }
  }

  /** Workers to lease to now, least recently leased first. */
  plan(nowMs: number, bufferCount: number): WorkerRecord[] {
    this.quorate ||= this.workers.size >= (this.policy.minWorkers ?? 0);
    if (!this.quorate || this.answeredBeforeHandover !== null) return [];
    const target =
      this.policy.synchronousRound === null
        ? this.policy.concurrency
        : this.policy.synchronousRound - bufferCount;
    const slots = target - this.leases.size;
    if (slots <= 0) return [];
    return [...this.workers.values()]
      .filter(
        (w) =>
          w.state === 'IDLE' &&
          !this.leaseOfWorker.has(w.workerId) &&
          w.unresponsiveSinceMs === null &&
          w.backoffUntilMs <= nowMs,
      )
      .sort((a, b) => a.lastLeasedMs - b.lastLeasedMs || a.workerId.localeCompare(b.workerId))
      .slice(0, slots)
      .map((w) => {
        w.lastLeasedMs = nowMs;
        return w;
      });
  }

  /** The update answering `lease` was rejected: the worker waits before its next lease. */
  rejected(lease: Lease, nowMs: number): void {
    const worker = this.workers.get(lease.workerId);
    if (!worker) return;
    worker.rejectedInARow += 1;
    const wait = Math.min(
      REJECTION_BACKOFF.maxMs,
      REJECTION_BACKOFF.firstMs * 2 ** (worker.rejectedInARow - 1),
    );
    worker.backoffUntilMs = nowMs + wait;
  }

  /** The update answering `lease` was folded: the worker's rejection streak ends. */
  folded(lease: Lease): void {
    const worker = this.workers.get(lease.workerId);
    if (worker) worker.rejectedInARow = 0;
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
    this.leaseOfWorker.set(workerId, taskId);
    const worker = this.workers.get(workerId);
    if (worker) worker.state = 'TRAINING';
    return lease;
  }
}
