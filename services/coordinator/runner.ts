/**
 * The coordinator's Kafka shell around the pure FedBuff aggregator and lease book.
 *
 * Exactly once across crashes: updates are read read_committed with auto-commit off; every server
 * step is one Kafka transaction holding the new GlobalModel, the aggregator checkpoint (model,
 * version, optimizer moments, every update id folded), the rejections recorded since the last
 * step, and the consumer offsets of every update record read so far. A restarted coordinator
 * restores the last checkpoint and re-reads from the committed offsets, so each accepted update
 * is folded exactly once and versions rise by one. Offsets never pass the first chunk of an update
 * still being reassembled; the checkpoint's cursor (how far each partition was handled, and which
 * chunked updates were still open) lets a restarted coordinator skip what it already recorded.
 *
 * Hostile input (docs/hostile-input.md): every record is bounded before it is believed
 * (lib/wire/avro-bounds.ts, lib/wire/update-checks.ts), chunked updates are held within a budget
 * (./reassembly.ts), rejections are committed in bounded batches (./rejections.ts), and whatever
 * goes wrong with one record ends in its rejection (./update-handling.ts), never a crash, stall or
 * crash loop.
 */
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { FedBuffAggregator, type FlushOutcome } from '../../lib/core/fedbuff/aggregator.js';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { CoordinatorConfig } from './config.js';
import { LeaseBook } from './leases.js';
import { RunMetrics } from './metrics.js';
import { evaluatesVersion, evaluationNumbers, type Evaluator } from './evaluator.js';
import { RejectionBatch } from './rejections.js';
import { restoreCheckpoint, type RestoredCheckpoint } from './checkpoints.js';
import { takeOverLeases } from './lease-handover.js';
import { UpdateIntake } from './intake.js';
import { UpdateHandling } from './update-handling.js';
import { writeStep, type CommitStep } from './step.js';
import { JobEvents, publishedEvent, type JobEvent } from './events.js';
import { checkInRecordEvents, issueLeases, TaskIds, trainTaskRecord, WorkerSchemaPrefetch } from './tasks.js';
import { consumeCheckIns, consumeUpdates, settled } from './clients.js';
import { jobOpening, openJob, type OpenedJob } from './opening.js';
import { StopConditions, type StopReason } from './stop-conditions.js';
import { FederatedEvaluation } from './federated.js';
import { CentralEvaluation, type EvaluatedVersion } from './central-evaluation.js';
import { SerialWork } from './serial-work.js';
import { ReadAhead } from './read-ahead.js';
import { MAX_RECORD_BYTES } from '../../lib/core/limits.js';
import { SoleWriterOffsets } from '../../lib/kafka/sole-writer.js';

export type { StopReason } from './stop-conditions.js';

export class CoordinatorRunner {
  readonly metrics: RunMetrics;
  private aggregator!: FedBuffAggregator;
  readonly leaseBook: LeaseBook;
  private readonly intake: UpdateIntake;
  private readonly rejections: RejectionBatch;
  private readonly updates: UpdateHandling;
  private readonly events: JobEvents;
  readonly federated: FederatedEvaluation;
  private readonly centralEvaluation: CentralEvaluation;
  private readonly schemaIds = { task: 0, model: 0, event: 0, rejected: 0 };
  /** The job's clients and schemas: start() opens it before any work that uses them begins. */
  private opened!: OpenedJob;
  private updatesConsumer!: Consumer;
  private checkinsConsumer!: Consumer;
  private ticker: NodeJS.Timeout | undefined;
  /** Settles when a restored coordinator has taken over its predecessor's leases (takeOverLeases). */
  private handover: Promise<void> = Promise.resolve();
  private readonly stopConditions: StopConditions;
  private readonly taskIds: TaskIds;
  private readonly workerSchemas: WorkerSchemaPrefetch;
  private readonly startedAtMs: number;
  private readonly lane = new SerialWork((key, error) => this.log.error(`${key}-failed`, { error }));
  /** Update records handed to the lane ahead of their handling (./read-ahead.ts). */
  private readonly readAhead = new ReadAhead(MAX_RECORD_BYTES, (error) => {
    // Record handling rejects what it cannot take: what escapes it is a failed step (crash-only),
    // which commitStep has reported already.
    if (this.stepFailed) return;
    this.log.error('update-handling-failed', { error });
    this.onFatal(error);
  });
  private stepFailed = false;
  /** Where the next model lands in `models`, learnt from this runner's first step. */
  private readonly modelOffsets: SoleWriterOffsets;

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly evaluator: Evaluator,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly onFatal: (error: unknown) => void = () => process.exit(1),
  ) {
    this.leaseBook = LeaseBook.forConfig(config);
    this.intake = new UpdateIntake({
      serde,
      layout: evaluator.layout,
      config,
      log,
      now,
      knownSchemaId: () => this.schemaIds.rejected,
      leases: this.leaseBook,
    });
    this.rejections = new RejectionBatch(config.rejections);
    this.modelOffsets = new SoleWriterOffsets(new Set([this.topic('models')]));
    this.events = new JobEvents(this.jobId, () => this.opened.producer, serde, now, log);
    this.startedAtMs = now();
    this.taskIds = new TaskIds(config.runId);
    this.workerSchemas = WorkerSchemaPrefetch.forJob(serde, this.jobId);
    this.metrics = new RunMetrics(config, this.startedAtMs);
    this.stopConditions = new StopConditions(config, this.startedAtMs, (reason) =>
      this.metrics.finished(reason, this.now()),
    );
    this.updates = new UpdateHandling({
      jobId: this.jobId,
      topic: this.topic('updates'),
      intake: this.intake,
      leaseBook: this.leaseBook,
      rejections: this.rejections,
      metrics: this.metrics,
      log,
      now,
      aggregator: () => this.aggregator,
      encodeRejection: (r) => serde.encode('RejectedUpdate', this.schemaIds.rejected, r),
      emit: (event) => this.emit(event),
      finished: () => this.stopConditions.reason !== null,
      abandoned: () => this.lane.abandoned,
      commitRejections: (checkpoint) => this.commitStep({ publishModel: false, checkpoint }),
      stepped: (flush, lastFoldAtMs) => this.onFlush(flush, lastFoldAtMs),
      slotFreed: () => this.tickSoon(),
    });
    this.federated = new FederatedEvaluation({
      jobId: this.jobId,
      runId: config.runId,
      settings: config.federatedEvaluation,
      kafka,
      serde,
      producer: () => this.opened.producer,
      log,
      now,
      emit: (event) => this.emit(event),
      serial: (work) => this.lane.run(work),
      metrics: this.metrics,
      stopConditions: this.stopConditions,
      centralEvaluation: evaluator.evaluates,
      classNames: evaluator.classNames,
      model: evaluator,
    });
    this.centralEvaluation = new CentralEvaluation({
      evaluator,
      now,
      log,
      onEvaluated: (result) => this.recordEvaluation(result),
    });
  }

  /** Settles with the reason the job ended (a stop condition, or stop()). */
  get finished(): Promise<StopReason> {
    return this.stopConditions.finished;
  }

  get jobId(): string {
    return this.config.aggregation.jobId;
  }
  /** -1 until start() has restored or created the model. */
  get version(): number {
    return this.aggregator?.version ?? -1;
  }
  get bufferCount(): number {
    return this.aggregator?.bufferCount ?? 0;
  }

  private topic(kind: Parameters<typeof topicName>[1]): string {
    return topicName(this.jobId, kind);
  }

  /**
   * Opens the job (or takes `opening`, the job the process opened before it loaded its model), restores or
   * creates the model, and starts reading check-ins and updates.
   */
  async start(opening?: OpenedJob | Promise<OpenedJob>): Promise<void> {
    const opened = await (opening ??
      openJob(this.kafka, this.serde, jobOpening(this.config, this.log), this.now));
    this.opened = opened;
    Object.assign(this.schemaIds, opened.schemaIds);
    this.workerSchemas.request();
    this.events.schemaId = opened.schemaIds.event;
    await this.recover(opened.checkpoint);
    await this.federated.start();
    [this.checkinsConsumer, this.updatesConsumer] = await Promise.all([
      consumeCheckIns(this.kafka, this.jobId, async (message) => {
        await this.handover;
        await this.lane.run(() => this.onCheckIn(message));
        this.tickSoon(); // an idle worker may take a free slot now
      }),
      consumeUpdates(this.kafka, this.jobId, this.config.sessionTimeoutMs, this.intake.consumed, (p, m) => {
        const fetchedAtMs = this.now();
        const handle = () => this.lane.run(() => this.updates.onRecord(p, m, fetchedAtMs));
        return this.readAhead.admit(m.value?.length ?? 0, handle);
      }),
    ]);

    this.ticker = setInterval(() => this.tickSoon(), this.config.tickMs);
    await this.emit({
      type: 'job-started',
      labels: { strategy: this.config.strategyName, runId: this.config.runId },
    });
    this.log.info('coordinator-started', {
      version: this.version,
      strategy: this.config.strategyName,
      foldKernel: this.aggregator.foldKernel,
      stepClient: opened.stepClient,
    });
  }

  /** Restores the last checkpoint, or publishes version 0. */
  private async recover(checkpoint: RestoredCheckpoint | null): Promise<void> {
    const restored = checkpoint && restoreCheckpoint(checkpoint, this.log);
    if (restored) {
      ({ aggregator: this.aggregator, replay: this.intake.replay } = restored);
      this.metrics.recovered(this.aggregator.version);
      // Not awaited: `tasks` is read while the consumers join and the first updates fold. Check-ins
      // wait for it: one read first could not cancel a lease not yet taken over.
      this.leaseBook.expectHandover();
      this.handover = takeOverLeases(checkpoint.leases, {
        kafka: this.kafka,
        serde: this.serde,
        jobId: this.jobId,
        taskDeadlineMs: this.config.taskDeadlineMs,
        leaseBook: this.leaseBook,
        inLane: (work) => this.lane.run(work),
        now: this.now,
        log: this.log,
      })
        .catch((error: unknown) => this.log.warn('leases-not-adopted', { error }))
        .then(() => this.tickSoon());
      return;
    }
    this.aggregator = FedBuffAggregator.create(
      this.config.aggregation,
      this.evaluator.layout,
      await this.evaluator.initialWeights(),
      0,
    );
    const evaluation = await this.evaluator.evaluate(this.aggregator.served);
    if (evaluation) this.metrics.evaluated(0, evaluation, this.now());
    await this.commitStep({
      publishModel: true,
      checkpoint: true,
      modelMetrics: evaluation ? evaluationNumbers(evaluation) : {},
    });
    this.log.info('initial-model-published', { version: 0, accuracy: evaluation?.accuracy ?? null });
  }

  private async onCheckIn(message: KafkaMessage): Promise<void> {
    const at = { leases: this.leaseBook, nowMs: this.now(), version: this.version };
    const newWorker = () => this.workerSchemas.request();
    for (const event of await checkInRecordEvents(message, this.serde, this.jobId, at, this.log, newWorker)) {
      if (event.type === 'worker-problem') this.metrics.workerProblem(event.labels?.code ?? 'unknown');
      await this.emit(event);
    }
  }

  /**
   * A new version: committed, leased, then handed to central evaluation, which runs beside the fold
   * path (./central-evaluation.ts). Test figures come later in an `evaluation` event naming the version.
   */
  private async onFlush(flush: FlushOutcome, lastFoldAtMs: number): Promise<void> {
    await this.commitStep({
      publishModel: true,
      checkpoint: true,
      foldedUpdateIds: flush.folded.map((f) => f.updateId),
    });
    const committedAtMs = this.now();
    this.metrics.flushed(flush);
    this.metrics.stages.stepCommitted(flush.version, lastFoldAtMs, committedAtMs);
    this.stopConditions.stepped(flush.version);
    await this.tick();
    if (evaluatesVersion(this.config, flush.version))
      this.centralEvaluation.published(flush.version, this.aggregator.served, committedAtMs);
    await this.emit(publishedEvent(flush));
    if (!this.stopConditions.reason)
      await this.federated.versionPublished(flush.version, this.leaseBook.askable());
  }

  private async recordEvaluation(result: EvaluatedVersion): Promise<void> {
    const { version, evaluation, finishedAtMs } = result;
    const numbers = evaluationNumbers(evaluation);
    this.metrics.stages.evaluated(result.startedAtMs, finishedAtMs);
    this.metrics.evaluated(version, evaluation, finishedAtMs, result.publishedAtMs);
    await this.emit({ type: 'evaluation', version, numbers });
    this.stopConditions.evaluated(numbers.testAccuracy);
  }

  /** One transaction: waiting rejections, a new model, the checkpoint with its cursor, offsets. */
  private async commitStep(step: CommitStep): Promise<void> {
    try {
      await writeStep(this.opened.txProducer, step, {
        jobId: this.jobId,
        config: this.config,
        serde: this.serde,
        schemaIds: this.schemaIds,
        layout: this.evaluator.layout,
        aggregator: this.aggregator,
        rejections: this.rejections,
        consumed: this.intake.consumed,
        reassembly: this.intake.reassembly,
        liveLeases: () => this.leaseBook.live(),
        now: this.now,
        offsetsBesideWrites: this.opened.stepClient.client === 'librdkafka',
        modelOffsets: this.modelOffsets,
      });
    } catch (error) {
      // In-memory state is now ahead of Kafka. Crash-only: the next coordinator restores the last
      // committed checkpoint and re-reads from the committed offsets, so nothing is lost or doubled.
      this.log.error('commit-failed-exiting', { error });
      this.stepFailed = true;
      this.onFatal(error);
      throw error;
    }
  }

  /** Queues a tick in the lane (not awaited: callers may be in it); one serves all asked before it. */
  private tickSoon(): void {
    this.lane.once('tick', () => this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopConditions.reason) return;
    const now = this.now();
    await this.federated.tick();
    for (const failure of this.intake.expire(now)) await this.updates.reject(failure);
    for (const lease of this.leaseBook.expire(now)) {
      this.metrics.leaseExpired();
      this.log.info('lease-expired', { taskId: lease.taskId, workerId: lease.workerId });
      await this.emit({ type: 'lease-expired', workerId: lease.workerId, labels: { taskId: lease.taskId } });
    }
    const { version, bufferCount } = this.aggregator;
    const messages = issueLeases(this.leaseBook, this.taskIds, version, bufferCount, now, (lease) => {
      this.metrics.leaseIssued(now);
      this.metrics.stages.leaseIssued(lease.baseVersion, now);
      return trainTaskRecord(lease, this.jobId, this.config.training, this.serde, this.schemaIds.task);
    });
    if (messages.length > 0) await this.opened.taskSender.send(this.topic('tasks'), messages);
    this.stopConditions.ticked(now);
  }

  private emit(event: JobEvent): Promise<void> {
    return this.events.emit(event, this.aggregator?.version ?? 0);
  }

  /** Stops taking work; what is buffered but not stepped is re-read by the next coordinator. */
  async stop(reason: StopReason = 'stopped'): Promise<void> {
    this.stopConditions.finish(reason);
    if (this.ticker) clearInterval(this.ticker);
    await this.lane
      .run(async () => {
        // In the lane (a step under way hands its version over first): the last figures go in the report.
        await this.centralEvaluation.idle();
        await this.federated.finish();
        await this.emit({
          type: 'job-finished',
          labels: { reason: this.stopConditions.reason ?? reason },
          numbers: {
            bufferCount: this.aggregator?.bufferCount ?? 0,
            evaluationsSkipped: this.centralEvaluation.skipped,
          },
        });
      })
      .catch(() => undefined);
    await this.disconnect();
  }

  /** After a failed step (state ahead of Kafka): no more work, clients let go, nothing on `events`. */
  async abandon(): Promise<void> {
    this.lane.abandon();
    this.centralEvaluation.stop();
    if (this.ticker) clearInterval(this.ticker);
    // Paused, not stopped: kafkajs can freeze the process stopping a consumer whose brokers just changed.
    this.updatesConsumer?.pause([{ topic: this.topic('updates') }]);
    this.checkinsConsumer?.pause([{ topic: this.topic('checkins') }]);
    await this.disconnect(false);
    await this.centralEvaluation.idle(); // the evaluator's model passes to the next runner
  }

  private async disconnect(consumers = true): Promise<void> {
    const { updatesConsumer: updates, checkinsConsumer: checkins } = this;
    if (consumers) await settled([updates?.disconnect(), checkins?.disconnect(), this.federated.stop()]);
    await settled([this.events.flush()]);
    const { producer, txProducer, taskSender, admin } = (this.opened as OpenedJob | undefined) ?? {};
    await settled([producer, txProducer, taskSender, admin].map((client) => client?.disconnect()));
  }
}
