/** What the coordinator knows about a run, as /status JSON, /metrics Prometheus text and the report. */
import { RoundTripStages } from './stages.js';
import { ERROR_CODES } from '../../lib/core/errors.js';
import type { FlushOutcome, FoldedUpdate } from '../../lib/core/fedbuff/aggregator.js';
import type { CoordinatorConfig } from './config.js';
import { SiloMetrics } from './silo-metrics.js';

export interface AccuracyPoint {
  readonly version: number;
  /** null for tasks without an accuracy metric. */
  readonly accuracy: number | null;
  readonly loss: number;
  /** Every metric of the evaluation (the task's own included). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly seconds: number;
  /** Seconds since the first task was leased (null before): time to accuracy without start-up. */
  readonly trainingSeconds: number | null;
  /**
   * The same clock when this version was committed (evaluation runs beside the fold path and may
   * finish later): when the model existed, as Flower's curve counts a round. Null before the first lease.
   */
  readonly publishedTrainingSeconds: number | null;
  /** Updates folded when this version was evaluated. */
  readonly updatesAccepted: number;
}

const MAX_TRAINING_METRICS = 64;

export class RunMetrics {
  readonly accuracy: AccuracyPoint[] = [];
  updatesAccepted = 0;
  updatesLate = 0;
  updatesRejected = 0;
  readonly workerProblems: Record<string, number> = {};
  readonly rejectionsByCode: Record<string, number> = {};
  leasesIssued = 0;
  leasesExpired = 0;
  versions = 0;
  recoveredFromVersion: number | null = null;
  readonly stalenessCounts: Record<number, number> = {};
  stalenessWeightSum = 0;
  readonly recentFolds: number[] = [];
  stopReason: string | null = null;
  finishedAtMs: number | null = null;
  secondsToTarget: number | null = null;
  /** When the first task was leased: training starts here; before it is start-up. */
  firstLeaseAtMs: number | null = null;

  /** Staleness per silo and federated-evaluation rounds. */
  readonly silos: SiloMetrics;
  /** A task's round trip, stage by stage (./stages.ts). */
  readonly stages = new RoundTripStages();

  constructor(
    private readonly config: CoordinatorConfig,
    readonly startedAtMs: number,
  ) {
    this.silos = new SiloMetrics(startedAtMs);
  }

  recovered(version: number): void {
    this.recoveredFromVersion = version;
    this.versions = version;
  }

  /** `publishedAtMs`: when the version was committed (default: now, as for version 0). */
  evaluated(
    version: number,
    e: { accuracy: number | null; loss: number; metrics: Readonly<Record<string, number>> },
    nowMs: number,
    publishedAtMs = nowMs,
  ): void {
    const seconds = (nowMs - this.startedAtMs) / 1000;
    const sinceFirstLease = (atMs: number) =>
      this.firstLeaseAtMs === null ? null : Math.max(0, atMs - this.firstLeaseAtMs) / 1000;
    this.accuracy.push({
      version,
      accuracy: e.accuracy,
      loss: e.loss,
      metrics: e.metrics,
      seconds,
      trainingSeconds: sinceFirstLease(nowMs),
      publishedTrainingSeconds: sinceFirstLease(publishedAtMs),
      updatesAccepted: this.updatesAccepted,
    });
    if (
      this.secondsToTarget === null &&
      this.config.targetAccuracy !== null &&
      e.accuracy !== null &&
      e.accuracy >= this.config.targetAccuracy
    )
      this.secondsToTarget = seconds;
  }

  /**
   * The folded updates' own metrics (loss, a task's figures), example-weighted. At most
   * MAX_TRAINING_METRICS names are kept, so workers cannot grow this without bound.
   */
  readonly trainingSums: Map<string, { sum: number; weight: number }> = new Map();

  private trained(metrics: Readonly<Record<string, number>>, numExamples: number): void {
    const weight = Math.max(1, numExamples);
    for (const [name, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      let entry = this.trainingSums.get(name);
      if (!entry) {
        if (this.trainingSums.size >= MAX_TRAINING_METRICS) continue;
        entry = { sum: 0, weight: 0 };
        this.trainingSums.set(name, entry);
      }
      entry.sum += value * weight;
      entry.weight += weight;
    }
  }

  trainingMetrics(): Record<string, number> {
    return Object.fromEntries([...this.trainingSums].map(([name, e]) => [name, e.sum / e.weight]));
  }

  /** An update folded: counted, its staleness kept (overall and for its silo), its training figures summed. */
  folded(
    update: FoldedUpdate,
    from: { late: boolean; silo: string; metrics: Readonly<Record<string, number>>; numExamples: number },
    nowMs: number,
  ): void {
    const { late } = from;
    this.silos.folded(from.silo, update.staleness, late);
    this.trained(from.metrics, from.numExamples);
    this.updatesAccepted += 1;
    if (late) this.updatesLate += 1;
    this.stalenessCounts[update.staleness] = (this.stalenessCounts[update.staleness] ?? 0) + 1;
    this.stalenessWeightSum += update.stalenessWeight;
    this.recentFolds.push(nowMs);
    while (this.recentFolds.length > 0 && (this.recentFolds[0] as number) < nowMs - 30_000)
      this.recentFolds.shift();
  }

  flushed(flush: FlushOutcome): void {
    this.versions = flush.version;
  }

  /** A worker reported a problem; codes outside ERROR_CODES count as OTHER (workers are not trusted). */
  workerProblem(code: string): void {
    const known = Object.hasOwn(ERROR_CODES, code) ? code : 'OTHER';
    this.workerProblems[known] = (this.workerProblems[known] ?? 0) + 1;
  }

  rejected(code: string): void {
    this.updatesRejected += 1;
    this.rejectionsByCode[code] = (this.rejectionsByCode[code] ?? 0) + 1;
  }

  leaseIssued(nowMs: number): void {
    this.leasesIssued += 1;
    this.firstLeaseAtMs ??= nowMs;
  }
  leaseExpired(): void {
    this.leasesExpired += 1;
  }

  finished(reason: string, nowMs: number): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.finishedAtMs = nowMs;
  }

  updatesPerSecond(nowMs: number): number {
    const window = Math.min(30, (nowMs - this.startedAtMs) / 1000);
    return window > 0 ? this.recentFolds.filter((t) => t >= nowMs - 30_000).length / window : 0;
  }

  meanStaleness(): number {
    const total = Object.values(this.stalenessCounts).reduce((a, b) => a + b, 0);
    const sum = Object.entries(this.stalenessCounts).reduce((s, [tau, n]) => s + Number(tau) * n, 0);
    return total > 0 ? sum / total : 0;
  }

  status(nowMs: number, live: { version: number; bufferCount: number; leases: number; workers: unknown[] }) {
    const last = this.accuracy.at(-1);
    return {
      runId: this.config.runId,
      jobId: this.config.aggregation.jobId,
      strategy: this.config.strategyName,
      version: live.version,
      bufferCount: live.bufferCount,
      leasesInFlight: live.leases,
      accuracy: last?.accuracy ?? null,
      evaluation: last ? { version: last.version, loss: last.loss, ...last.metrics } : null,
      targetAccuracy: this.config.targetAccuracy,
      secondsToTarget: this.secondsToTarget,
      wallSeconds: ((this.finishedAtMs ?? nowMs) - this.startedAtMs) / 1000,
      updatesAccepted: this.updatesAccepted,
      updatesLate: this.updatesLate,
      updatesRejected: this.updatesRejected,
      rejectionsByCode: this.rejectionsByCode,
      workerProblemsByCode: this.workerProblems,
      updatesPerSecond: this.updatesPerSecond(nowMs),
      meanStaleness: this.meanStaleness(),
      stalenessCounts: this.stalenessCounts,
      leasesIssued: this.leasesIssued,
      leasesExpired: this.leasesExpired,
      recoveredFromVersion: this.recoveredFromVersion,
      stopReason: this.stopReason,
      workers: live.workers,
    };
  }

  prometheus(
    nowMs: number,
    live: { version: number; bufferCount: number; leases: number; workers: number },
  ): string {
    const job = this.config.aggregation.jobId;
    const label = `{job="${job}"}`;
    const lines = [
      ['tributary_global_model_version', 'gauge', 'Current global model version', live.version],
      ['tributary_buffer_updates', 'gauge', 'Updates buffered toward the next server step', live.bufferCount],
      ['tributary_leases_in_flight', 'gauge', 'Training tasks leased and not yet answered', live.leases],
      ['tributary_workers_known', 'gauge', 'Workers that have checked in', live.workers],
      [
        'tributary_test_accuracy',
        'gauge',
        'Test accuracy of the latest evaluated model',
        this.accuracy.at(-1)?.accuracy ?? 0,
      ],
      ['tributary_updates_accepted_total', 'counter', 'Updates folded', this.updatesAccepted],
      ['tributary_updates_late_total', 'counter', 'Updates folded after their lease ended', this.updatesLate],
      ['tributary_updates_rejected_total', 'counter', 'Updates rejected', this.updatesRejected],
      ['tributary_leases_issued_total', 'counter', 'Leases issued', this.leasesIssued],
      ['tributary_leases_expired_total', 'counter', 'Leases that expired', this.leasesExpired],
      [
        'tributary_updates_per_second',
        'gauge',
        'Folded updates per second over the last 30 s',
        this.updatesPerSecond(nowMs),
      ],
    ] as const;
    const out: string[] = [];
    for (const [name, type, help, value] of lines)
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${label} ${value}`);
    out.push(
      '# HELP tributary_update_staleness_total Folded updates by staleness',
      '# TYPE tributary_update_staleness_total counter',
    );
    for (const [tau, n] of Object.entries(this.stalenessCounts))
      out.push(`tributary_update_staleness_total{job="${job}",staleness="${tau}"} ${n}`);
    out.push(
      '# HELP tributary_rejections_total Rejected updates by code',
      '# TYPE tributary_rejections_total counter',
    );
    for (const [code, n] of Object.entries(this.rejectionsByCode))
      out.push(`tributary_rejections_total{job="${job}",code="${code}"} ${n}`);
    out.push(
      '# HELP tributary_worker_problems_total Problems workers reported (e.g. a model they could not read) by code',
      '# TYPE tributary_worker_problems_total counter',
    );
    for (const [code, n] of Object.entries(this.workerProblems))
      out.push(`tributary_worker_problems_total{job="${job}",code="${code}"} ${n}`);
    return `${out.join('\n')}\n`;
  }
}
