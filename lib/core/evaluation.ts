/**
 * Federated evaluation, pure: rounds of evaluation requests (one per live worker for one global
 * version), the checks every EvaluationReport passes before it is believed, and the aggregation of
 * a round's reports per silo and overall.
 *
 * Loss and metrics are example-weighted means. For classifiers the confusion matrices are summed,
 * so accuracy and per-class recall, precision and F1 are exact counts over every silo's examples,
 * not means of means.
 */
import type { EvaluationReport } from '../wire/schemas.js';

/** A report's limits: more classes than this and the matrix is refused (256² counts, 512 KiB). */
export const MAX_EVALUATION_CLASSES = 256;
export const MAX_EVALUATION_METRICS = 64;
/** The same hard limit as an update's example count. */
export const MAX_EVALUATION_EXAMPLES = 1e9;

export interface EvaluationAggregate {
  /** Workers whose reports are in it. */
  readonly workers: number;
  readonly examples: number;
  readonly loss: number;
  /** Example-weighted means of the metrics every report in it gives. */
  readonly metrics: Readonly<Record<string, number>>;
  /** From the summed confusion matrix for classifiers, otherwise the metrics' `accuracy` if any. */
  readonly accuracy: number | null;
  readonly classes: number;
  /** Summed counts, row = true class, column = predicted (empty unless a classifier). */
  readonly confusion: readonly number[];
  /** Per class (null where the class has no true examples / no predictions). */
  readonly recall: readonly (number | null)[];
  readonly precision: readonly (number | null)[];
  readonly f1: readonly (number | null)[];
}

export interface RoundResult {
  readonly version: number;
  readonly openedAtMs: number;
  readonly closedAtMs: number;
  /** Workers asked and workers that answered in time. */
  readonly asked: number;
  readonly answered: number;
  /** Silos asked that have no answer in the round. */
  readonly missingSilos: readonly string[];
  readonly overall: EvaluationAggregate;
  readonly silos: Readonly<Record<string, EvaluationAggregate>>;
  /** How the round closed: every worker answered, or its deadline passed (or the job ended). */
  readonly closedBy: 'complete' | 'deadline' | 'finish';
}

export type ReportProblem = { readonly code: 'TRIB_EVALUATION_INVALID'; readonly message: string };

/** What is wrong with a report's own numbers, or null: every field is checked, none is trusted. */
export function reportProblem(report: EvaluationReport): ReportProblem | null {
  const invalid = (message: string): ReportProblem => ({ code: 'TRIB_EVALUATION_INVALID', message });
  const n = report.numExamples;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_EVALUATION_EXAMPLES)
    return invalid(`numExamples must be an integer in [1, ${MAX_EVALUATION_EXAMPLES}], got ${n}`);
  if (!Number.isFinite(report.loss)) return invalid(`loss must be finite, got ${report.loss}`);
  const metrics = Object.entries(report.metrics);
  if (metrics.length > MAX_EVALUATION_METRICS)
    return invalid(`at most ${MAX_EVALUATION_METRICS} metrics, got ${metrics.length}`);
  for (const [name, value] of metrics)
    if (!Number.isFinite(value)) return invalid(`metric ${name.slice(0, 64)} must be finite, got ${value}`);
  const k = report.classes;
  if (!Number.isInteger(k) || k < 0 || k > MAX_EVALUATION_CLASSES)
    return invalid(`classes must be an integer in [0, ${MAX_EVALUATION_CLASSES}], got ${k}`);
  if (report.confusion.length !== k * k)
    return invalid(`confusion must hold classes² = ${k * k} counts, got ${report.confusion.length}`);
  if (k > 0) {
    let sum = 0;
    for (const count of report.confusion) {
      if (!Number.isSafeInteger(count) || count < 0)
        return invalid(`confusion counts must be non-negative integers, got ${count}`);
      sum += count;
    }
    if (sum !== n) return invalid(`confusion counts sum to ${sum}, not numExamples ${n}`);
  }
  return null;
}

/** Aggregates reports (already checked, all of the same class count). */
export function aggregateReports(reports: readonly EvaluationReport[]): EvaluationAggregate {
  const examples = reports.reduce((sum, r) => sum + r.numExamples, 0);
  const weighted = (value: (r: EvaluationReport) => number) =>
    examples === 0 ? 0 : reports.reduce((sum, r) => sum + value(r) * r.numExamples, 0) / examples;
  // Only metrics every report gives: a mean over some of the examples would pass for all of them.
  const names = reports.length === 0 ? [] : Object.keys(reports[0]?.metrics ?? {});
  const shared = names.filter((name) => reports.every((r) => name in r.metrics)).sort();
  const metrics = Object.fromEntries(shared.map((name) => [name, weighted((r) => r.metrics[name] ?? 0)]));
  const classes = reports[0]?.classes ?? 0;
  const confusion = new Array<number>(classes * classes).fill(0);
  for (const r of reports) r.confusion.forEach((count, i) => (confusion[i] = (confusion[i] ?? 0) + count));
  const perClass = classMeasures(confusion, classes);
  const correct = perClass.diagonal.reduce((a, b) => a + b, 0);
  return {
    workers: new Set(reports.map((r) => r.workerId)).size,
    examples,
    loss: weighted((r) => r.loss),
    metrics,
    accuracy: classes > 0 ? (examples === 0 ? null : correct / examples) : (metrics.accuracy ?? null),
    classes,
    confusion,
    recall: perClass.recall,
    precision: perClass.precision,
    f1: perClass.f1,
  };
}

function classMeasures(confusion: readonly number[], classes: number) {
  const at = (row: number, column: number) => confusion[row * classes + column] ?? 0;
  const diagonal: number[] = [];
  const recall: (number | null)[] = [];
  const precision: (number | null)[] = [];
  const f1: (number | null)[] = [];
  for (let c = 0; c < classes; c++) {
    let actual = 0;
    let predicted = 0;
    for (let j = 0; j < classes; j++) {
      actual += at(c, j);
      predicted += at(j, c);
    }
    const hits = at(c, c);
    diagonal.push(hits);
    const r = actual === 0 ? null : hits / actual;
    const p = predicted === 0 ? null : hits / predicted;
    recall.push(r);
    precision.push(p);
    // A class with true examples that is never predicted has F1 0; one with neither has none.
    f1.push(r === null ? null : p === null || p + r === 0 ? 0 : (2 * p * r) / (p + r));
  }
  return { diagonal, recall, precision, f1 };
}

export interface AskedWorker {
  readonly workerId: string;
  readonly silo: string;
}

interface OpenRound {
  readonly version: number;
  readonly openedAtMs: number;
  readonly deadlineMs: number;
  /** taskId → the worker asked. */
  readonly asked: Map<string, AskedWorker>;
  readonly reports: Map<string, EvaluationReport>;
}

export type ReportOutcome =
  | { readonly kind: 'accepted'; readonly closed: RoundResult | null }
  | { readonly kind: 'late' }
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'rejected';
      readonly code: 'TRIB_EVALUATION_INVALID' | 'TRIB_EVALUATION_UNEXPECTED';
      readonly message: string;
    };

/**
 * The coordinator's book of evaluation rounds. A report counts only if it answers a request of an
 * open round, from the worker asked, for the version asked, with the class count of the round's
 * other reports; a round closes when every worker asked has answered or at its deadline.
 */
export class EvaluationRounds {
  private readonly open = new Map<number, OpenRound>();
  /** Task ids of recently closed rounds, so a late answer is told from a forged one (bounded). */
  private readonly closedTasks = new Map<
    string,
    { readonly version: number; readonly worker: AskedWorker }
  >();

  constructor(
    private readonly limits: {
      readonly deadlineMs: number;
      readonly maxOpenRounds: number;
      readonly rememberClosed: number;
      /**
       * The model's output width when it is a classifier: a report's `classes` must be 0 or this,
       * so no report holds a larger matrix than an honest one (null: unknown, any up to 256).
       */
      readonly classes?: number | null;
    } = {
      deadlineMs: 30_000,
      maxOpenRounds: 8,
      rememberClosed: 4096,
    },
  ) {}

  get openRounds(): number {
    return this.open.size;
  }

  /**
   * Opens a round for `version` asking `workers` (task ids from `taskId`); returns the requests and
   * any rounds closed to make room. Asking nobody, or a version already open, opens nothing.
   */
  openRound(
    version: number,
    workers: readonly AskedWorker[],
    nowMs: number,
    taskId: (worker: AskedWorker) => string,
  ): { requests: { taskId: string; worker: AskedWorker; deadlineMs: number }[]; closed: RoundResult[] } {
    if (workers.length === 0 || this.open.has(version)) return { requests: [], closed: [] };
    const closed: RoundResult[] = [];
    while (this.open.size >= this.limits.maxOpenRounds) {
      const oldest = Math.min(...this.open.keys());
      closed.push(this.close(oldest, nowMs, 'deadline'));
    }
    const round: OpenRound = {
      version,
      openedAtMs: nowMs,
      deadlineMs: nowMs + this.limits.deadlineMs,
      asked: new Map(),
      reports: new Map(),
    };
    const requests = workers.map((worker) => {
      const id = taskId(worker);
      round.asked.set(id, worker);
      return { taskId: id, worker, deadlineMs: round.deadlineMs };
    });
    this.open.set(version, round);
    return { requests, closed };
  }

  accept(report: EvaluationReport, nowMs: number): ReportOutcome {
    const round = this.open.get(report.version);
    const closed = this.closedTasks.get(report.taskId);
    const asked =
      round?.asked.get(report.taskId) ?? (closed?.version === report.version ? closed.worker : undefined);
    if (!asked)
      return {
        kind: 'rejected',
        code: 'TRIB_EVALUATION_UNEXPECTED',
        message: `no evaluation request ${report.taskId.slice(0, 128)} for version ${report.version}`,
      };
    if (asked.workerId !== report.workerId || asked.silo !== report.silo)
      return {
        kind: 'rejected',
        code: 'TRIB_EVALUATION_UNEXPECTED',
        message: `request ${report.taskId.slice(0, 128)} was sent to ${asked.workerId} (${asked.silo}), not ${report.workerId.slice(0, 128)} (${report.silo.slice(0, 128)})`,
      };
    // A malformed report is rejected whatever else is true of it (late, or a repeat).
    const problem = reportProblem(report);
    if (problem) return { kind: 'rejected', ...problem };
    if (!round?.asked.has(report.taskId)) return { kind: 'late' };
    if (round.reports.has(report.taskId)) return { kind: 'duplicate' };
    const classes = this.limits.classes ?? null;
    if (classes !== null && report.classes !== 0 && report.classes !== classes)
      return {
        kind: 'rejected',
        code: 'TRIB_EVALUATION_INVALID',
        message: `classes ${report.classes}, but the model has ${classes} outputs`,
      };
    const first = round.reports.values().next().value;
    if (first && first.classes !== report.classes)
      return {
        kind: 'rejected',
        code: 'TRIB_EVALUATION_INVALID',
        message: `classes ${report.classes} differs from the round's ${first.classes}`,
      };
    round.reports.set(report.taskId, report);
    const complete = round.reports.size === round.asked.size;
    return { kind: 'accepted', closed: complete ? this.close(round.version, nowMs, 'complete') : null };
  }

  /** Closes the rounds whose deadline has passed. */
  expire(nowMs: number): RoundResult[] {
    return [...this.open.values()]
      .filter((round) => round.deadlineMs <= nowMs)
      .map((round) => this.close(round.version, nowMs, 'deadline'));
  }

  /** Closes every open round (the job is ending) that has at least one report. */
  closeAll(nowMs: number): RoundResult[] {
    const results = [...this.open.keys()].map((version) => this.close(version, nowMs, 'finish'));
    return results.filter((r) => r.answered > 0);
  }

  private close(version: number, nowMs: number, closedBy: RoundResult['closedBy']): RoundResult {
    const round = this.open.get(version);
    if (!round) throw new Error(`no open evaluation round for version ${version}`);
    this.open.delete(version);
    for (const [taskId, worker] of round.asked) this.closedTasks.set(taskId, { version, worker });
    while (this.closedTasks.size > this.limits.rememberClosed) {
      const oldest = this.closedTasks.keys().next().value;
      if (oldest === undefined) break;
      this.closedTasks.delete(oldest);
    }
    const reports = [...round.reports.values()];
    const bySilo = new Map<string, EvaluationReport[]>();
    for (const r of reports) bySilo.set(r.silo, [...(bySilo.get(r.silo) ?? []), r]);
    const askedSilos = new Set([...round.asked.values()].map((w) => w.silo));
    return {
      version,
      openedAtMs: round.openedAtMs,
      closedAtMs: nowMs,
      asked: round.asked.size,
      answered: reports.length,
      missingSilos: [...askedSilos].filter((silo) => !bySilo.has(silo)).sort(),
      overall: aggregateReports(reports),
      silos: Object.fromEntries(
        [...bySilo.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([silo, rs]) => [silo, aggregateReports(rs)]),
      ),
      closedBy,
    };
  }
}
