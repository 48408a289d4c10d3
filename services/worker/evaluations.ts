/**
 * The worker's side of federated evaluation: EvaluationTask records addressed to this worker are
 * queued for the worker's loop (evaluation shares the model with training, so the two never run at
 * once), and each is answered with an EvaluationReport on the silo's holdout data.
 */
import type { Kafka } from 'kafkajs';
import type { RecordSender } from '../../lib/kafka/sender.js';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { Evaluation } from '../../lib/task/model.js';
import type { EvaluationReport, EvaluationTask } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { WorkerConfig } from './config.js';
import type { ModelCache } from './model-cache.js';
import { KeyedFeed } from './links.js';

/** Evaluates flat weights on the silo's holdout for `version`. */
export type HoldoutEvaluator = (weights: Float32Array, version: number) => Promise<Evaluation>;

/** The report a worker sends for an evaluation (the confusion matrix only when it adds up). */
export function evaluationReport(
  task: EvaluationTask,
  silo: string,
  evaluation: Evaluation,
  nowMs: number,
): EvaluationReport {
  const counted = evaluation.confusion.reduce((a, b) => a + b, 0);
  // Labels outside the model's classes are not in the matrix; then the matrix is left out.
  const whole = evaluation.classes > 0 && counted === evaluation.examples;
  return {
    taskId: task.taskId,
    jobId: task.jobId,
    workerId: task.workerId,
    silo,
    version: task.version,
    numExamples: evaluation.examples,
    loss: evaluation.loss,
    metrics: { ...evaluation.metrics },
    classes: whole ? evaluation.classes : 0,
    confusion: whole ? [...evaluation.confusion] : [],
    evaluatedAtMs: nowMs,
  };
}

export class EvaluationResponder {
  private feed: KeyedFeed<'EvaluationTask'> | undefined;
  private reportSchema = 0;
  private emptyHoldoutLogged = false;
  readonly stats = { answered: 0, skipped: 0 };

  constructor(
    private readonly config: WorkerConfig,
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly evaluate: HoldoutEvaluator,
    private readonly models: ModelCache,
    private readonly log: Logger,
  ) {}

  /** Starts reading requests; each one for this worker and job, not yet past its deadline, goes to `enqueue`. */
  async start(enqueue: (task: EvaluationTask) => void): Promise<void> {
    const { jobId, workerId } = this.config;
    this.reportSchema = await this.serde.register('EvaluationReport', topicName(jobId, 'evaluations'));
    // Requests are keyed by worker: this worker reads only its own partition of them.
    this.feed = new KeyedFeed(this.kafka, this.serde, this.log, {
      jobId,
      topic: topicName(jobId, 'evaluation-tasks'),
      groupId: `tributary.${jobId}.worker.${workerId}.evaluations`,
      message: 'EvaluationTask',
      keys: [workerId],
    });
    this.feed.on(workerId, (task) => {
      if (task.deadlineMs >= Date.now()) enqueue(task);
    });
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await this.feed.start(admin);
    } finally {
      await admin.disconnect();
    }
  }

  /** Evaluates the version asked for and publishes the report (nothing for an empty holdout). */
  async answer(task: EvaluationTask, sender: RecordSender, signal: AbortSignal): Promise<void> {
    const left = task.deadlineMs - Date.now();
    if (left <= 0) return void (this.stats.skipped += 1);
    const weights = await this.models.waitFor(task.version, left, signal);
    if (!weights) {
      this.stats.skipped += 1;
      this.log.warn('evaluation-version-unavailable', { taskId: task.taskId, version: task.version });
      return;
    }
    const began = performance.now();
    const evaluation = await this.evaluate(weights, task.version);
    if (evaluation.examples === 0) {
      // Nothing to report: a report needs at least one example (the coordinator would refuse it).
      this.stats.skipped += 1;
      if (!this.emptyHoldoutLogged)
        this.log.warn('evaluation-empty-holdout', { taskId: task.taskId, version: task.version });
      this.emptyHoldoutLogged = true;
      return;
    }
    const report = evaluationReport(task, this.config.silo, evaluation, Date.now());
    await sender.send(topicName(this.config.jobId, 'evaluations'), [
      {
        key: this.config.workerId,
        value: this.serde.encode('EvaluationReport', this.reportSchema, report),
      },
    ]);
    this.stats.answered += 1;
    this.log.info('evaluation-reported', {
      taskId: task.taskId,
      version: task.version,
      examples: report.numExamples,
      loss: report.loss,
      ms: Math.round(performance.now() - began),
    });
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
  }
}
