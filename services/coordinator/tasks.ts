/** The lease book's Kafka side: a lease as a TrainTask record, and a check-in as lease-book changes and events. */
import { randomUUID } from 'node:crypto';
import { topicName } from '../../lib/kafka/topics.js';
import type { CoordinatorConfig } from './config.js';
import type { JobEvent } from './events.js';
import type { Lease, LeaseBook } from './leases.js';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/log.js';
import type { WorkerCheckIn } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';

/** Task ids: the run, the base version, a counter and a random tail (unique across restarts). */
export class TaskIds {
  private counter = 0;
  constructor(private readonly runId: string) {}
  next(version: number): string {
    this.counter += 1;
    return `${this.runId}-v${version}-t${this.counter}-${randomUUID().slice(0, 8)}`;
  }
}

/**
 * Issues the leases the book plans (free slots given to available workers) at `version`; returns
 * their TrainTask records.
 */
export function issueLeases(
  leases: LeaseBook,
  ids: TaskIds,
  version: number,
  bufferCount: number,
  nowMs: number,
  record: (lease: Lease) => { key: string; value: Buffer },
): { key: string; value: Buffer }[] {
  return leases
    .plan(nowMs, bufferCount)
    .map((worker) => record(leases.issue(ids.next(version), worker.workerId, version, nowMs)));
}

/** A lease as its TrainTask record, keyed by the worker it is leased to. */
export function trainTaskRecord(
  lease: Lease,
  jobId: string,
  training: CoordinatorConfig['training'],
  serde: AvroSerde,
  schemaId: number,
): { key: string; value: Buffer } {
  return {
    key: lease.workerId,
    value: serde.encode('TrainTask', schemaId, {
      taskId: lease.taskId,
      jobId,
      workerId: lease.workerId,
      baseVersion: lease.baseVersion,
      hyperparameters: training,
      issuedAtMs: lease.issuedAtMs,
      deadlineMs: lease.deadlineMs,
    }),
  };
}

/**
 * Records a check-in in the lease book; returns the events it gives: a problem the worker reports
 * for the first time, and a lease the check-in cancelled.
 */
export function checkInEvents(
  checkIn: WorkerCheckIn,
  leases: LeaseBook,
  nowMs: number,
  version: number,
): JobEvent[] {
  const reported = leases.workers.get(checkIn.workerId)?.problem;
  const cancelled = leases.checkIn(
    {
      workerId: checkIn.workerId,
      silo: checkIn.silo,
      numExamples: checkIn.numExamples,
      backend: checkIn.capabilities.backend,
      state: checkIn.state,
      sentAtMs: checkIn.sentAtMs,
      currentTaskId: checkIn.currentTaskId,
      problem: checkIn.problem,
    },
    nowMs,
  );
  const events: JobEvent[] = [];
  if (checkIn.problem && checkIn.problem.atMs !== reported?.atMs)
    events.push({
      type: 'worker-problem',
      workerId: checkIn.workerId,
      version: checkIn.problem.version ?? version,
      labels: { code: checkIn.problem.code, message: checkIn.problem.message.slice(0, 512) },
    });
  if (cancelled)
    events.push({
      type: 'lease-cancelled',
      workerId: cancelled.workerId,
      labels: { taskId: cancelled.taskId, reason: checkIn.state },
    });
  return events;
}

/** A check-in record as its events: decoded and recorded (another job's ignored, an unreadable one logged). */
export async function checkInRecordEvents(
  message: KafkaMessage,
  serde: AvroSerde,
  jobId: string,
  at: { leases: LeaseBook; nowMs: number; version: number },
  log: Logger,
  /** Called when the check-in is a worker's first (that the lease book knows of). */
  onNewWorker: () => void = () => undefined,
): Promise<JobEvent[]> {
  try {
    const checkIn = await serde.decode('WorkerCheckIn', message.value);
    if (checkIn.jobId !== jobId) return [];
    const known = at.leases.workers.has(checkIn.workerId);
    const events = checkInEvents(checkIn, at.leases, at.nowMs, at.version);
    if (!known && at.leases.workers.has(checkIn.workerId)) onNewWorker();
    return events;
  } catch (error) {
    log.warn('check-in-unreadable', { error, offset: message.offset });
    return [];
  }
}

/**
 * The latest writer schemas of what workers send (check-ins, updates, evaluation reports), fetched
 * into the serde's cache at start and whenever a new worker checks in (a worker registers its
 * schemas before its first check-in): the first update of a round is then not decoded behind a
 * registry call (25–55 ms in round 1 of MNIST jobs). Best effort, one fetch at a time; a request
 * made during one is served by one more after it.
 */
export class WorkerSchemaPrefetch {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly serde: Pick<AvroSerde, 'prefetchLatest'>,
    private readonly topics: readonly string[],
  ) {}

  static forJob(serde: AvroSerde, jobId: string): WorkerSchemaPrefetch {
    const sent = ['checkins', 'updates', 'evaluations'] as const;
    return new WorkerSchemaPrefetch(
      serde,
      sent.map((kind) => topicName(jobId, kind)),
    );
  }

  /** Settles when no fetch is running or asked for. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const fetched = Promise.all(this.topics.map((topic) => this.serde.prefetchLatest(topic)));
    // prefetchLatest never rejects; were it to, later requests must still run.
    this.running = fetched.then(
      () => this.settled(),
      () => this.settled(),
    );
  }

  private settled(): void {
    this.running = undefined;
    if (this.again) {
      this.again = false;
      this.request();
    }
  }
}
