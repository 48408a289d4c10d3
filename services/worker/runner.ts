/**
 * One worker's Kafka shell around its handler (`trainer.train`): its tasks, check-ins, updates and
 * shutdown, over the links of the process that hosts it (./links.ts: one worker, or a fleet of
 * virtual ones); the handler only turns a task and a model into a delta.
 *
 * Long local training must never get the worker evicted from its group: the tasks consumer hands a
 * task to the training loop and returns at once, so KafkaJS keeps heartbeating; the training loop
 * yields to the event loop every few milliseconds. An update split into several records is
 * published in one Kafka transaction (a single record is atomic by itself), so a worker killed
 * mid-publication never leaves a half-published update visible to the coordinator's
 * read_committed consumer.
 */
import type { Kafka } from 'kafkajs';
import { publishAtomically } from '../../lib/kafka/publish.js';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import { seededRandom } from '../../lib/core/random.js';
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { EvaluationTask, TrainTask, WorkerCheckIn, WorkerProblem } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { WorkerConfig } from './config.js';
import { delayAfterTrainingMs, delayMultiplier, offlineForMs } from './delay.js';
import { updateRecords, type LocalResult } from './update.js';
import { signRecords } from '../../lib/security/signing.js';
import { EvaluationResponder, type HoldoutEvaluator } from './evaluations.js';
import type { ModelProblem, WorkerLinks } from './links.js';
import type { TributaryError } from '../../lib/core/errors.js';
import { LayoutMismatchError } from '../../lib/task/layout.js';

export interface Trainer {
  readonly layout: ModelLayout;
  readonly backend: string;
  train(start: Float32Array, task: TrainTask, shouldStop: () => boolean): Promise<LocalResult | null>;
  /** Evaluation on the silo's holdout, for federated evaluation (absent: the task has none). */
  readonly evaluate?: HoldoutEvaluator;
}

type Work =
  { kind: 'train'; task: TrainTask; receivedAtMs: number } | { kind: 'evaluate'; task: EvaluationTask };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class WorkerRunner {
  private readonly stopping = new AbortController();
  private readonly queue: TrainTask[] = [];
  /** When each queued task arrived (its round trip's stages: timings in the update). */
  private readonly receivedAt = new Map<string, number>();
  /** Evaluation requests go before training tasks: they are short and their rounds have deadlines. */
  private readonly evaluationQueue: EvaluationTask[] = [];
  private readonly evaluations: EvaluationResponder | null;
  private readonly startedAtMs = Date.now();
  private wake: (() => void) | undefined;
  private attached = false;
  private state: WorkerCheckIn['state'] = 'IDLE';
  private currentTaskId: string | null = null;
  /** The latest problem that kept this worker from training, sent with every check-in. */
  private problem: WorkerProblem | null = null;
  /** Examples in the last local training (0 before the first): what check-ins report. */
  private numExamples = 0;
  private failWith: ((error: TributaryError) => void) | undefined;
  /** Settles when this worker cannot take part in the job (its model's layout is not the job's). */
  readonly failed = new Promise<TributaryError>((resolve) => (this.failWith = resolve));
  private checkInTimer: NodeJS.Timeout | undefined;
  private checkInsSent: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private readonly random: () => number;
  readonly stats = { tasksDone: 0, tasksDropped: 0, tasksAbandoned: 0, modelProblems: 0 };

  constructor(
    private readonly config: WorkerConfig,
    kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly trainer: Trainer,
    private readonly log: Logger,
    private readonly links: WorkerLinks,
  ) {
    this.random = seededRandom(config.seed);
    this.evaluations = trainer.evaluate
      ? new EvaluationResponder(config, kafka, serde, trainer.evaluate, links.models.cache, log)
      : null;
  }

  /**
   * Registers this worker's handlers on the process's links: its tasks, and the model problems it
   * reports. A process hosting several workers attaches them all before the links start.
   */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    const { workerId } = this.config;
    this.links.models.onProblem((problem) => {
      this.reportModelProblem(problem);
      // Another model than the job's: no version of this job can be trained here, so stop.
      if (problem.fatal) this.failWith?.(new LayoutMismatchError(problem.message));
    });
    this.links.tasks.on(workerId, (task) => {
      if (task.deadlineMs < Date.now()) {
        this.log.info('task-expired-on-arrival', { taskId: task.taskId });
        return;
      }
      this.queue.push(task);
      this.receivedAt.set(task.taskId, Date.now());
      this.wake?.();
    });
  }

  async start(): Promise<void> {
    this.attach();
    await this.links.start();
    await this.evaluations?.start((task) => {
      this.evaluationQueue.push(task);
      this.wake?.();
    });
    await this.checkIn();
    this.checkInTimer = setInterval(() => {
      if (this.state === 'IDLE' && this.queue.length === 0 && this.offlineForMs() === 0)
        void this.checkIn().catch(() => undefined);
    }, this.config.checkInIntervalMs);
    const newestModel = this.links.models.cache.newest;
    this.log.info('worker-started', { backend: this.trainer.backend, newestModel });
    this.loop = this.runLoop();
  }

  /** A global model version this worker cannot use: remembered, and sent with check-ins. */
  private reportModelProblem(problem: ModelProblem): void {
    this.problem = {
      code: problem.code,
      message: problem.message,
      version: problem.version,
      atMs: Date.now(),
    };
    this.stats.modelProblems += 1;
    void this.checkIn().catch(() => undefined);
  }

  /**
   * Sends a check-in of the worker's state now. Check-ins are sent one after another, in the order
   * they were made (a later one never overtakes an earlier one), so a caller need not await one
   * to keep its state in order.
   */
  private checkIn(): Promise<void> {
    const message: WorkerCheckIn = {
      workerId: this.config.workerId,
      jobId: this.config.jobId,
      silo: this.config.silo,
      numExamples: this.numExamples,
      capabilities: { backend: this.trainer.backend, maxPayloadBytes: this.config.maxChunkBytes },
      state: this.state,
      currentTaskId: this.currentTaskId,
      sentAtMs: Date.now(),
      problem: this.problem,
    };
    const send = () =>
      this.links.sender.send(topicName(this.config.jobId, 'checkins'), [
        {
          key: this.config.workerId,
          value: this.serde.encode('WorkerCheckIn', this.links.schemaIds.checkIn, message),
        },
      ]);
    const sent = this.checkInsSent.then(send, send).then(() => undefined);
    this.checkInsSent = sent.catch(() => undefined);
    return sent;
  }

  private offlineForMs(): number {
    return offlineForMs(this.config.outage, Date.now() - this.startedAtMs);
  }

  /**
   * A simulated intermittent site (TRIBUTARY_OUTAGE_*): while offline it sends nothing and starts
   * nothing; what it was doing waits for the connection to return.
   */
  private async waitOnline(): Promise<void> {
    const ms = this.offlineForMs();
    if (ms === 0) return;
    this.log.info('site-offline', { forMs: ms });
    await sleep(ms, this.stopping.signal);
    this.log.info('site-online', {});
  }

  private async nextWork(): Promise<Work | undefined> {
    while (!this.stopping.signal.aborted) {
      const evaluation = this.evaluationQueue.shift();
      if (evaluation) return { kind: 'evaluate', task: evaluation };
      const task = this.queue.shift();
      if (task) {
        const receivedAtMs = this.receivedAt.get(task.taskId) ?? Date.now();
        this.receivedAt.delete(task.taskId);
        return { kind: 'train', task, receivedAtMs };
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.stopping.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.wake = undefined;
    }
    return undefined;
  }

  private async runLoop(): Promise<void> {
    for (;;) {
      const work = await this.nextWork();
      if (!work) return;
      await this.waitOnline();
      if (work.kind === 'evaluate') {
        await this.evaluations
          ?.answer(work.task, this.links.sender, this.stopping.signal)
          .catch((error: unknown) =>
            this.log.error('evaluation-failed', { taskId: work.task.taskId, error }),
          );
        continue;
      }
      const task = work.task;
      if (task.deadlineMs < Date.now()) {
        this.log.info('task-expired-before-start', { taskId: task.taskId });
        continue;
      }
      let published = false;
      try {
        published = await this.handle(task, work.receivedAtMs);
      } catch (error) {
        this.log.error('task-failed', { taskId: task.taskId, error });
      }
      this.state = this.stopping.signal.aborted ? 'LEAVING' : 'IDLE';
      this.currentTaskId = null;
      // A published update says IDLE for this worker (docs/protocol.md, rule 2); a task that ended
      // without one needs the check-in, or its lease would wait for the next heartbeat or expiry.
      if (!published && !this.stopping.signal.aborted)
        await this.checkIn().catch((error: unknown) => this.log.warn('check-in-failed', { error }));
    }
  }

  /** Trains `task` and publishes its update; false when no update went out (dropped, no model, shutdown). */
  private async handle(task: TrainTask, receivedAtMs: number): Promise<boolean> {
    // Not said: the coordinator marked this worker TRAINING when it leased the task (docs/protocol.md,
    // rule 3), and a check-in here cost the broker, the coordinator and this worker a record a task.
    this.state = 'TRAINING';
    this.currentTaskId = task.taskId;
    if (this.random() < this.config.dropoutProbability) {
      // A flaky site: the task is lost and the worker is away until the lease would have expired.
      this.stats.tasksDropped += 1;
      this.log.info('task-dropped', { taskId: task.taskId });
      await sleep(Math.max(0, task.deadlineMs - Date.now()), this.stopping.signal);
      return false;
    }
    const model = await this.links.models.cache.waitFor(task.baseVersion, 60_000, this.stopping.signal);
    if (!model) {
      const failure = this.links.models.cache.failure(task.baseVersion);
      this.log.warn('model-version-unavailable', {
        taskId: task.taskId,
        baseVersion: task.baseVersion,
        ...(failure ? { code: failure.code } : {}),
      });
      return false;
    }
    const modelReadyAtMs = Date.now();
    const startedAtMs = Date.now();
    const result = await this.trainer.train(model, task, () => this.stopping.signal.aborted);
    if (!result) {
      this.stats.tasksAbandoned += 1;
      this.log.info('task-abandoned', { taskId: task.taskId, reason: 'shutdown' });
      return false;
    }
    this.numExamples = result.numExamples;
    const multiplier = delayMultiplier(this.config.delay, this.random);
    const delayMs = delayAfterTrainingMs(
      multiplier,
      this.config.delayBasis,
      result,
      this.config.deviceMsPerSample,
    );
    if (delayMs > 0) await sleep(delayMs, this.stopping.signal);
    if (this.stopping.signal.aborted) {
      this.stats.tasksAbandoned += 1;
      this.log.info('task-abandoned', { taskId: task.taskId, reason: 'shutdown' });
      return false;
    }
    await this.waitOnline(); // trained before the outage, sent after it: a stale update
    const { updateId, records: unsigned } = updateRecords(
      task,
      this.config.workerId,
      result,
      {
        taskReceivedAtMs: receivedAtMs,
        modelReadyAtMs,
        startedAtMs,
        finishedAtMs: Date.now(),
        delayMultiplier: multiplier,
      },
      this.trainer.layout,
      this.config,
    );
    const key = this.config.signingKey;
    const records = key ? signRecords(unsigned, key) : unsigned;
    // Once publication starts it finishes, even on shutdown: all of the update's records or none.
    await publishAtomically(
      {
        plain: this.links.sender,
        transactional: () => this.links.transactional(this.config.workerId),
      },
      topicName(this.config.jobId, 'updates'),
      records.map((record) => ({
        key: updateId,
        value: this.serde.encode('ModelUpdate', this.links.schemaIds.update, record),
      })),
    );
    this.stats.tasksDone += 1;
    this.log.info('update-published', {
      taskId: task.taskId,
      updateId,
      baseVersion: task.baseVersion,
      records: records.length,
      loss: result.loss,
      trainSeconds: result.seconds,
      delayMultiplier: multiplier,
    });
    return true;
  }

  /** Abandons training in progress (a publication in progress completes) and says LEAVING; the links stay open. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    if (this.checkInTimer) clearInterval(this.checkInTimer);
    await this.loop;
    this.state = 'LEAVING';
    this.currentTaskId = null;
    await this.checkIn().catch(() => undefined);
    await this.evaluations?.stop().catch(() => undefined);
    const evaluations = this.evaluations?.stats;
    this.log.info('worker-stopped', {
      ...this.stats,
      ...(evaluations && {
        evaluationsAnswered: evaluations.answered,
        evaluationsSkipped: evaluations.skipped,
      }),
    });
  }
}
