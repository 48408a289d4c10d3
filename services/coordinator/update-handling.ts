/**
 * What becomes of one record read from `updates`: the intake bounds, decodes and reassembles it
 * (./intake.ts), a whole update is folded into the aggregator, and whatever cannot be taken is
 * rejected and recorded (./rejections.ts). Runs in the coordinator's lane, one record at a time;
 * the runner owns the steps a fold or a rejection batch leads to, and is asked for them here.
 */
import type { KafkaMessage } from 'kafkajs';
import type { FedBuffAggregator, FlushOutcome, FoldOutcome } from '../../lib/core/fedbuff/aggregator.js';
import { failpoint } from '../../lib/failpoints.js';
import type { Logger } from '../../lib/log.js';
import { toFoldInput } from '../../lib/wire/records.js';
import type { ModelUpdate, RejectedUpdate } from '../../lib/wire/schemas.js';
import { foldedEvent, rejectedEvent, type JobEvent } from './events.js';
import type { RecordFailure, UpdateIntake } from './intake.js';
import type { LeaseBook } from './leases.js';
import type { RunMetrics } from './metrics.js';
import type { RejectionBatch } from './rejections.js';

export interface UpdateHandlingDeps {
  readonly jobId: string;
  /** The `updates` topic's name, as rejections record it. */
  readonly topic: string;
  readonly intake: UpdateIntake;
  readonly leaseBook: LeaseBook;
  readonly rejections: RejectionBatch;
  readonly metrics: RunMetrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly aggregator: () => FedBuffAggregator;
  readonly encodeRejection: (rejection: RejectedUpdate) => Buffer;
  readonly emit: (event: JobEvent) => Promise<void>;
  /** Whether the job has finished: it folds no more. */
  readonly finished: () => boolean;
  /** Whether a step failed: an error while folding is then the step's, not the update's. */
  readonly abandoned: () => boolean;
  /** Commits the waiting rejections (and, with `checkpoint`, the buffer's checkpoint) in a step. */
  readonly commitRejections: (checkpoint: boolean) => Promise<void>;
  /** A fold completed a version: the runner steps. `lastFoldAtMs`: when that fold finished. */
  readonly stepped: (flush: FlushOutcome, lastFoldAtMs: number) => Promise<void>;
  /** A lease's slot freed (and maybe a new version exists): lease now rather than at the next tick. */
  readonly slotFreed: () => void;
}

export class UpdateHandling {
  constructor(private readonly deps: UpdateHandlingDeps) {}

  /** `fetchedAtMs`: when the consumer handed the record over (the round trip's stages). */
  async onRecord(partition: number, message: KafkaMessage, fetchedAtMs: number): Promise<void> {
    const { deps } = this;
    // A finished job folds no more: no version past the last, and what is unread stays for a resumption.
    if (deps.finished()) return;
    const startedAt = deps.now();
    const { outcome, expired } = await deps.intake.read(partition, message);
    for (const failure of expired) await this.reject(failure);
    if (outcome.kind === 'failed') await this.reject(outcome.failure);
    if (outcome.kind === 'whole') {
      try {
        await this.foldWhole(outcome.update, { createdAtMs: Number(message.timestamp), fetchedAtMs });
      } catch (error) {
        if (deps.abandoned()) return; // the step failed, not the update
        const offset = Number(message.offset);
        await this.reject({ partition, offset, message, record: outcome.update, key: outcome.key, error });
      }
    }
    const ms = deps.now() - startedAt;
    if (ms > 1000) deps.log.warn('slow-record', { partition, offset: message.offset, ms });
  }

  /** `record`: the whole update's last record's timestamp and when it was handed over (the round trip's stages). */
  private async foldWhole(
    whole: ModelUpdate,
    record: { createdAtMs: number; fetchedAtMs: number },
  ): Promise<void> {
    const { deps } = this;
    const wholeAtMs = deps.now();
    const lease = deps.leaseBook.complete(whole.taskId, whole.workerId, wholeAtMs);
    const aggregator = deps.aggregator();
    let outcome: FoldOutcome;
    try {
      outcome = aggregator.fold(toFoldInput(whole, aggregator.stagingArea));
    } catch (error) {
      if (lease) deps.leaseBook.rejected(lease, deps.now());
      throw error;
    }
    if (lease) deps.leaseBook.folded(lease);
    const foldedAtMs = deps.now();
    deps.metrics.stages.folded({
      leaseIssuedAtMs: lease?.issuedAtMs,
      timings: whole.timings,
      recordCreatedAtMs: record.createdAtMs,
      fetchedAtMs: record.fetchedAtMs,
      wholeAtMs,
      foldedAtMs,
      baseVersion: whole.baseVersion,
    });
    const late = lease === undefined;
    const silo = deps.leaseBook.workers.get(whole.workerId)?.silo ?? '(unknown)';
    const { metrics, numExamples } = whole;
    deps.metrics.folded(outcome.update, { late, silo, metrics, numExamples }, deps.now());
    await deps.emit(foldedEvent(whole, outcome, late));
    if (outcome.flush) await deps.stepped(outcome.flush, foldedAtMs);
    else failpoint('fold.after');
    deps.slotFreed();
  }

  /** Records `failure` as a rejection; commits the batch now when nothing is buffered or held, or it is full. */
  async reject(failure: RecordFailure): Promise<void> {
    const { deps } = this;
    const rejection = deps.rejections.addFailure(
      failure,
      { jobId: deps.jobId, topic: deps.topic, nowMs: deps.now() },
      deps.encodeRejection,
    );
    deps.metrics.rejected(rejection.code);
    deps.log.warn('update-rejected', {
      code: rejection.code,
      message: rejection.message,
      updateId: rejection.updateId,
      partition: failure.partition,
      offset: failure.offset,
    });
    await deps.emit(rejectedEvent(rejection));
    const quiet = deps.aggregator().bufferCount === 0 && deps.intake.reassembly.size === 0;
    // With nothing buffered or held, the rejection and the offsets past it can be committed right
    // away; a full batch is committed whatever is buffered, with a checkpoint of the buffer.
    if (quiet || deps.rejections.full) await deps.commitRejections(!quiet);
  }
}
