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

  /** After a central evaluation (accuracy undefined when the task has no accuracy metric). */
  evaluated(accuracy: number | undefined): void {
    const { targetAccuracy } = this.config;
    if (targetAccuracy !== null && accuracy !== undefined && accuracy >= targetAccuracy)
      this.finish('target-accuracy');
  }

  /** After a step committed `version` (the last version's evaluation is awaited by the shell). */
  stepped(version: number): void {
    const { maxVersions } = this.config;
    if (maxVersions !== null && version >= maxVersions) this.finish('max-versions');
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
