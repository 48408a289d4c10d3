/** The job's events topic: one CoordinatorEvent per thing that happened, best effort (never blocks a step). */
import type { Producer } from 'kafkajs';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { FlushOutcome, FoldOutcome } from '../../lib/core/fedbuff/aggregator.js';
import type { CoordinatorEvent, ModelUpdate, RejectedUpdate } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';

/** Every event type the coordinator emits (docs/protocol.md and docs/topics.md list them). */
export const EVENT_TYPES = [
  'job-started',
  'lease-cancelled',
  'lease-expired',
  'worker-problem',
  'update-folded',
  'update-rejected',
  'model-published',
  'evaluation',
  'evaluation-requested',
  'evaluation-reported',
  'evaluation-rejected',
  'federated-evaluation',
  'federated-evaluation-silo',
  'job-finished',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type JobEvent = Partial<Omit<CoordinatorEvent, 'type'>> & { type: EventType };

/**
 * The job's event stream. Events are sent in order but off the coordinator's serial path: emit()
 * queues one and returns, and one send at a time carries whatever has queued meanwhile, so a fleet's
 * folds do not each wait for a round trip to the broker. A send waits `lingerMs` after the first
 * event queued for company: a version's events (its folds, its step, its evaluation) then go in one
 * or two requests instead of five or six, which the broker and this process each handled, and which
 * the tasks, on the same producer, queued behind. A queue of MAX_QUEUED (the broker not keeping up)
 * makes emit() wait, so memory stays bounded; flush() sends at once and waits for everything emitted.
 */
export class JobEvents {
  static readonly MAX_QUEUED = 10_000;
  static readonly MAX_BATCH = 500;
  static readonly LINGER_MS = 25;
  schemaId = 0;
  private readonly queue: { type: string; value: Buffer }[] = [];
  private draining: Promise<void> | null = null;
  private lingering: NodeJS.Timeout | null = null;

  constructor(
    private readonly jobId: string,
    private readonly producer: () => Producer,
    private readonly serde: AvroSerde,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly lingerMs = JobEvents.LINGER_MS,
  ) {}

  /** Queues one event stamped with the job, the time and `version` (unless the event names its own). */
  async emit(event: JobEvent, version: number): Promise<void> {
    const full: CoordinatorEvent = {
      jobId: this.jobId,
      timeMs: this.now(),
      version,
      workerId: null,
      updateId: null,
      numbers: {},
      labels: {},
      ...event,
    };
    this.queue.push({ type: event.type, value: this.serde.encode('CoordinatorEvent', this.schemaId, full) });
    if (this.lingerMs <= 0 || this.queue.length >= JobEvents.MAX_BATCH) this.startDrain();
    else this.lingering ??= setTimeout(() => this.startDrain(), this.lingerMs).unref();
    if (this.queue.length >= JobEvents.MAX_QUEUED) await this.draining;
  }

  /**
   * One drain at a time. It is cleared only once settled (a drain that ended at once must not leave
   * a settled promise for flush() to spin on), and what queued meanwhile gets a drain of its own.
   */
  private startDrain(): void {
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    if (this.draining || this.queue.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.startDrain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, JobEvents.MAX_BATCH);
      try {
        await this.producer().send({
          topic: topicName(this.jobId, 'events'),
          messages: batch.map(({ value }) => ({ key: this.jobId, value })),
        });
      } catch (error) {
        this.log.warn('events-not-sent', {
          count: batch.length,
          types: [...new Set(batch.map((e) => e.type))],
          error,
        });
      }
    }
  }

  /** Resolves once every event emitted so far has been sent (or given up on). */
  async flush(): Promise<void> {
    this.startDrain();
    while (this.draining) await this.draining;
  }
}

/** An update folded into the buffer: its staleness, weight, norm and clipping, and the buffer's fill. */
export function foldedEvent(whole: ModelUpdate, outcome: FoldOutcome, late: boolean): JobEvent {
  return {
    type: 'update-folded',
    workerId: whole.workerId,
    updateId: whole.updateId,
    numbers: {
      staleness: outcome.update.staleness,
      stalenessWeight: outcome.update.stalenessWeight,
      norm: outcome.update.norm,
      clipFactor: outcome.update.clipFactor,
      bufferCount: outcome.bufferCount,
      late: late ? 1 : 0,
      numExamples: whole.numExamples,
    },
  };
}

/** A new version published: what went into it (its test figures follow in an `evaluation` event). */
export function publishedEvent(flush: FlushOutcome): JobEvent {
  return {
    type: 'model-published',
    numbers: {
      folded: flush.folded.length,
      averageDeltaNorm: flush.averageDeltaNorm,
      maxStaleness: Math.max(...flush.folded.map((f) => f.staleness)),
    },
  };
}

/** An update rejected: which, whose, and the rejection's code (the record itself goes to `rejected`). */
export function rejectedEvent(rejection: Pick<RejectedUpdate, 'updateId' | 'workerId' | 'code'>): JobEvent {
  return {
    type: 'update-rejected',
    updateId: rejection.updateId,
    workerId: rejection.workerId,
    labels: { code: rejection.code },
  };
}
