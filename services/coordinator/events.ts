/** The job's events topic: one CoordinatorEvent per thing that happened, best effort (never blocks a step). */
import type { Producer } from 'kafkajs';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { CoordinatorEvent } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';

export type JobEvent = Partial<CoordinatorEvent> & { type: string };

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
