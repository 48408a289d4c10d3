/** The job's events topic: one CoordinatorEvent per thing that happened, best effort (never blocks a step). */
import type { Producer } from 'kafkajs';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { FoldOutcome } from '../../lib/core/fedbuff/aggregator.js';
import type { CoordinatorEvent, ModelUpdate } from '../../lib/wire/schemas.js';
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

export class JobEvents {
  schemaId = 0;

  constructor(
    private readonly jobId: string,
    private readonly producer: () => Producer,
    private readonly serde: AvroSerde,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** Sends one event stamped with the job, the time and `version` (unless the event names its own). */
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
    try {
      await this.producer().send({
        topic: topicName(this.jobId, 'events'),
        messages: [{ key: this.jobId, value: this.serde.encode('CoordinatorEvent', this.schemaId, full) }],
      });
    } catch (error) {
      this.log.warn('event-not-sent', { type: event.type, error });
    }
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
