/**
 * Central evaluation off the fold path. Evaluating a version on the held-out data took 99–169 ms of
 * the coordinator per version in `tta` (session 9); done inside the update consumer's callback, it
 * held back every fold, and the lease each fold frees, for as long (under FedBuff about 45% of the
 * time). Now a committed version is handed here and the coordinator goes on folding.
 *
 * One evaluation runs at a time. A version published meanwhile waits, and a newer one replaces it:
 * once a newer model exists an older one's figures come too late to steer anything, and evaluating
 * every version would fall further behind the faster versions come. So the coordinator holds at most
 * two copies of the model for evaluation (the one being evaluated and the one waiting), whatever the
 * rate of versions. Each result names its version; stop conditions and reports use that version.
 *
 * Evaluation shares the coordinator's thread with folding (it gives way after every batch), so it
 * is also held to at most EVALUATION_SHARE of the time: after an evaluation that took E ms, the next
 * starts no sooner than E · (1 / share − 1) ms later. With versions faster than evaluations (NumPy
 * workers: a version every 0.1 s, an evaluation 70 ms) it would otherwise take most of the thread,
 * and the steps' broker round trips would each wait behind an evaluation batch.
 */
import type { Logger } from '../../lib/log.js';
import type { Evaluation } from '../../lib/task/model.js';
import type { Evaluator } from './evaluator.js';

export interface EvaluatedVersion {
  readonly version: number;
  readonly evaluation: Evaluation;
  /** When this version was handed over (committed), when its evaluation started and ended. */
  readonly publishedAtMs: number;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}

interface Waiting {
  readonly version: number;
  readonly weights: Float32Array;
  readonly publishedAtMs: number;
}

/** The most of the coordinator's time central evaluation may take. */
export const EVALUATION_SHARE = 0.5;

export interface CentralEvaluationDeps {
  readonly evaluator: Pick<Evaluator, 'evaluates' | 'evaluate'>;
  readonly now: () => number;
  /** Waits `ms` (a timer; tests pass their own). */
  readonly pause?: (ms: number) => Promise<void>;
  readonly log: Logger;
  /** Called once per evaluated version, in version order, never after stop(). */
  readonly onEvaluated: (result: EvaluatedVersion) => Promise<void>;
}

export class CentralEvaluation {
  private running: Promise<void> | null = null;
  private waiting: Waiting | null = null;
  private stopped = false;
  /** Versions handed over but replaced by a newer one before their turn. */
  skipped = 0;
  /** The newest version evaluated so far (-1 before the first). */
  lastEvaluated = -1;

  constructor(private readonly deps: CentralEvaluationDeps) {}

  /**
   * A version committed at `publishedAtMs`: evaluated now, or after the running evaluation unless a
   * newer one comes first.
   */
  published(version: number, model: Float32Array, publishedAtMs = this.deps.now()): void {
    if (this.stopped || !this.deps.evaluator.evaluates || version <= this.lastEvaluated) return;
    if (this.waiting) this.skipped += 1;
    // A copy: the aggregator steps its model in place while this one waits or is evaluated.
    this.waiting = { version, weights: model.slice(), publishedAtMs };
    if (!this.running) this.running = this.drain();
  }

  /** Resolves once the running evaluation and the waiting one (if any) are done. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops the waiting version; the running evaluation's result is discarded. */
  stop(): void {
    this.stopped = true;
    this.waiting = null;
  }

  /** Started by published() with a version waiting, so it awaits before it can clear `running`. */
  private async drain(): Promise<void> {
    for (let next = this.take(); next; next = this.take()) {
      const tookMs = await this.evaluate(next);
      // The pause comes before looking again: whatever is newest by then is evaluated next.
      if (this.waiting && !this.stopped) await this.pauseAfter(tookMs);
    }
    // Cleared in the same synchronous stretch that found nothing waiting: published() either put
    // its version in before (and it was taken) or sees no drain running and starts one.
    this.running = null;
  }

  private take(): Waiting | null {
    const next = this.stopped ? null : this.waiting;
    this.waiting = null;
    return next;
  }

  private pauseAfter(tookMs: number): Promise<void> {
    const ms = tookMs * (1 / EVALUATION_SHARE - 1);
    const pause = this.deps.pause ?? ((wait: number) => new Promise<void>((r) => setTimeout(r, wait)));
    return ms > 0 ? pause(ms) : Promise.resolve();
  }

  /** Evaluates one version and reports it; returns how long the evaluation took. */
  private async evaluate({ version, weights, publishedAtMs }: Waiting): Promise<number> {
    const startedAtMs = this.deps.now();
    try {
      const evaluation = await this.deps.evaluator.evaluate(weights);
      const finishedAtMs = this.deps.now();
      if (evaluation && !this.stopped) {
        this.lastEvaluated = version;
        await this.deps.onEvaluated({ version, evaluation, publishedAtMs, startedAtMs, finishedAtMs });
      }
      return finishedAtMs - startedAtMs;
    } catch (error) {
      // A failed evaluation costs that version's figures, not the job: the next version is tried.
      this.deps.log.error('evaluation-failed', { version, error });
      return this.deps.now() - startedAtMs;
    }
  }
}
