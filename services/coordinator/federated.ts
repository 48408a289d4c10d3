/**
 * Federated evaluation, the Kafka side: EvaluationTask records out to the live workers every N
 * versions, EvaluationReport records in, through the pure round book (lib/core/evaluation.ts).
 * A report is decoded with the same bounds as any record, checked field by field, and either
 * aggregated or recorded as an `evaluation-rejected` event; none can crash or stall the coordinator.
 *
 * Rounds live in memory only: a restarted coordinator starts new rounds at the next due version
 * (reports for the old ones are then unexpected, recorded and dropped). Evaluation never touches
 * the model or its transactions, so it cannot disturb exactly-once training.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { EvaluationRounds, type AskedWorker, type RoundResult } from '../../lib/core/evaluation.js';
import { sendKeyed } from '../../lib/kafka/publish.js';
import { TOPIC_SPECS, topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { CoordinatorConfig } from './config.js';
import type { JobEvent } from './events.js';
import type { RunMetrics } from './metrics.js';
import type { StopConditions } from './stop-conditions.js';

export interface FederatedEvaluationDeps {
  readonly jobId: string;
  readonly runId: string;
  readonly settings: CoordinatorConfig['federatedEvaluation'];
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly producer: () => Producer;
  readonly log: Logger;
  readonly now: () => number;
  readonly emit: (event: JobEvent) => Promise<void>;
  /** Runs work on the coordinator's serial chain (the round book is never touched concurrently). */
  readonly serial: <T>(work: () => Promise<T>) => Promise<T>;
  readonly metrics: RunMetrics;
  readonly stopConditions: StopConditions;
  /** Whether the task has a central test set (then federated figures never drive the job's accuracy). */
  readonly centralEvaluation: boolean;
  readonly classNames: readonly string[];
  /**
   * The model: its output width for a classifier (a report's `classes` must be 0 or that), else
   * null; and whether it is loaded yet (after a restore it loads once the job has resumed).
   */
  readonly model: { readonly classes: number | null; readonly ready: boolean };
}

export class FederatedEvaluation {
  private readonly rounds: EvaluationRounds;
  private consumer: Consumer | undefined;
  private taskSchema = 0;

  constructor(private readonly deps: FederatedEvaluationDeps) {
    const model = deps.model;
    this.rounds = new EvaluationRounds({
      deadlineMs: deps.settings.deadlineMs,
      maxOpenRounds: 8,
      rememberClosed: 4096,
      // Read at each report: after a restore the model, and so its class count, loads later.
      get classes() {
        return model.classes;
      },
    });
  }

  get enabled(): boolean {
    return this.deps.settings.every > 0;
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    const { jobId, kafka, serde } = this.deps;
    this.taskSchema = await serde.register('EvaluationTask', topicName(jobId, 'evaluation-tasks'));
    // A group of its own per coordinator run, from the end: reports answer this run's requests.
    this.consumer = kafka.consumer({
      groupId: `tributary.${jobId}.coordinator.evaluations.${randomUUID()}`,
      readUncommitted: false,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: topicName(jobId, 'evaluations'), fromBeginning: false });
    await this.consumer.run({
      eachMessage: async ({ message }) => this.deps.serial(() => this.onReport(message)),
    });
  }

  /** Opens a round for `version` when one is due, asking every worker in `workers`. */
  async versionPublished(version: number, workers: readonly AskedWorker[]): Promise<void> {
    if (!this.enabled || version % this.deps.settings.every !== 0) return;
    if (!this.deps.model.ready) {
      // Reports could not be checked against the model's classes yet: no round, said as such.
      this.deps.log.info('evaluation-round-skipped', { version, reason: 'model-loading' });
      return;
    }
    const now = this.deps.now();
    const { requests, closed } = this.rounds.openRound(
      version,
      workers,
      now,
      (w) => `${this.deps.runId}-e${version}-${w.workerId}-${randomUUID().slice(0, 8)}`,
    );
    for (const round of closed) await this.onRound(round);
    if (requests.length === 0) return;
    const messages = requests.map(({ taskId, worker, deadlineMs }) => ({
      key: worker.workerId,
      value: this.deps.serde.encode('EvaluationTask', this.taskSchema, {
        taskId,
        jobId: this.deps.jobId,
        workerId: worker.workerId,
        version,
        issuedAtMs: now,
        deadlineMs,
      }),
    }));
    await sendKeyed(
      this.deps.producer(),
      topicName(this.deps.jobId, 'evaluation-tasks'),
      messages,
      TOPIC_SPECS['evaluation-tasks'].partitions,
    );
    await this.deps.emit({ type: 'evaluation-requested', version, numbers: { workers: requests.length } });
  }

  /** Closes rounds past their deadline. */
  async tick(): Promise<void> {
    for (const round of this.rounds.expire(this.deps.now())) await this.onRound(round);
  }

  /** Closes every open round with the reports it has (the job is ending). */
  async finish(): Promise<void> {
    for (const round of this.rounds.closeAll(this.deps.now())) await this.onRound(round);
  }

  /**
   * A closed round: events per silo and overall, and, for a task without a central test set, the
   * job's accuracy (curve and target) when the round heard from every silo asked.
   */
  private async onRound(round: RoundResult): Promise<void> {
    const { metrics, stopConditions } = this.deps;
    metrics.silos.federatedRound(round);
    for (const event of roundEvents(round, this.deps.classNames)) await this.deps.emit(event);
    if (this.deps.centralEvaluation || round.missingSilos.length > 0 || round.answered === 0) return;
    metrics.evaluated(round.version, round.overall, this.deps.now());
    stopConditions.evaluated(round.overall.accuracy ?? undefined);
  }

  private async onReport(message: KafkaMessage): Promise<void> {
    let report;
    try {
      report = await this.deps.serde.decode('EvaluationReport', message.value);
    } catch (error) {
      return this.rejected(
        null,
        (error as { code?: string }).code ?? 'TRIB_DECODE_FAILED',
        String((error as Error).message),
        message,
      );
    }
    if (report.jobId !== this.deps.jobId)
      return this.rejected(
        report.workerId,
        'TRIB_WRONG_JOB',
        `report of job ${report.jobId.slice(0, 128)}`,
        message,
      );
    const outcome = this.rounds.accept(report, this.deps.now());
    switch (outcome.kind) {
      case 'rejected':
        return this.rejected(report.workerId, outcome.code, outcome.message, message);
      case 'late':
      case 'duplicate':
        this.deps.log.info(`evaluation-${outcome.kind}`, {
          workerId: report.workerId,
          version: report.version,
        });
        return;
      case 'accepted':
        await this.deps.emit({
          type: 'evaluation-reported',
          version: report.version,
          workerId: report.workerId,
          labels: { silo: report.silo },
          numbers: { numExamples: report.numExamples, loss: report.loss, ...report.metrics },
        });
        if (outcome.closed) await this.onRound(outcome.closed);
    }
  }

  private async rejected(
    workerId: string | null,
    code: string,
    message: string,
    record: KafkaMessage,
  ): Promise<void> {
    this.deps.log.warn('evaluation-rejected', {
      code,
      message: message.slice(0, 1024),
      offset: record.offset,
    });
    await this.deps.emit({
      type: 'evaluation-rejected',
      workerId: workerId?.slice(0, 512) ?? null,
      labels: { code, message: message.slice(0, 1024) },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** A closed round as events: one `federated-evaluation` overall, one `federated-evaluation-silo` per silo. */
export function roundEvents(round: RoundResult, classNames: readonly string[] = []): JobEvent[] {
  const numbers = (a: RoundResult['overall']) => {
    const out: Record<string, number> = {
      examples: a.examples,
      workers: a.workers,
      loss: a.loss,
      ...a.metrics,
    };
    if (a.accuracy !== null) out.accuracy = a.accuracy;
    a.recall.forEach((r, i) => {
      if (r !== null) out[`recall.${classNames[i] ?? i}`] = r;
    });
    a.f1.forEach((f, i) => {
      if (f !== null) out[`f1.${classNames[i] ?? i}`] = f;
    });
    return out;
  };
  return [
    {
      type: 'federated-evaluation',
      version: round.version,
      numbers: { ...numbers(round.overall), asked: round.asked, answered: round.answered },
      labels: { closedBy: round.closedBy, missingSilos: round.missingSilos.join(',') },
    },
    ...Object.entries(round.silos).map(([silo, aggregate]): JobEvent => ({
      type: 'federated-evaluation-silo',
      version: round.version,
      numbers: numbers(aggregate),
      labels: { silo },
    })),
  ];
}
