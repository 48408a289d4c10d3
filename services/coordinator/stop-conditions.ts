/**
 * When a job ends, pure: a target accuracy reached, a number of versions, a wall-time budget, or
 * a stop from outside. The first reason wins; `finished` settles with it.
 */
import type { CoordinatorConfig } from './config.js';

export type StopReason = 'target-accuracy' | 'max-versions' | 'max-wall-time' | 'stopped';

export class StopConditions {
  private stopReason: StopReason | null = null;
  private resolve!: (reason: StopReason) => void;
  readonly finished: Promise<StopReason>;

  constructor(
    private readonly config: Pick<CoordinatorConfig, 'targetAccuracy' | 'maxVersions' | 'maxWallSeconds'>,
    private readonly startedAtMs: number,
    private readonly onFinish: (reason: StopReason) => void = () => undefined,
  ) {
    this.finished = new Promise((resolve) => (this.resolve = resolve));
  }

  get reason(): StopReason | null {
    return this.stopReason;
  }

  /** After an evaluation of `version` (accuracy undefined when there is none). */
  evaluated(accuracy: number | undefined, version: number): void {
    const { targetAccuracy, maxVersions } = this.config;
    if (targetAccuracy !== null && accuracy !== undefined && accuracy >= targetAccuracy)
      this.finish('target-accuracy');
    else if (maxVersions !== null && version >= maxVersions) this.finish('max-versions');
  }

  /** On every tick. */
  ticked(nowMs: number): void {
    const { maxWallSeconds } = this.config;
    if (maxWallSeconds !== null && (nowMs - this.startedAtMs) / 1000 >= maxWallSeconds)
      this.finish('max-wall-time');
  }

  finish(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.onFinish(reason);
    this.resolve(reason);
  }
}
