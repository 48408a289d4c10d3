/**
 * How often the coordinator may restart itself after failed steps, and how long it waits first:
 * 1 s, doubling to 30 s, forgiven after 5 minutes without a failure; at most 10 in a row, then the
 * process exits for its own supervisor to judge. Pure: the caller passes the time.
 */
export class RestartBudget {
  private inARow = 0;
  private lastAtMs = -Infinity;

  constructor(
    private readonly policy = { firstMs: 1000, maxMs: 30_000, forgiveAfterMs: 5 * 60_000, maxInARow: 10 },
  ) {}

  get count(): number {
    return this.inARow;
  }

  /** The delay before the next restart, or null when the budget is spent. */
  next(nowMs: number): number | null {
    if (nowMs - this.lastAtMs > this.policy.forgiveAfterMs) this.inARow = 0;
    this.lastAtMs = nowMs;
    if (this.inARow >= this.policy.maxInARow) return null;
    const delay = Math.min(this.policy.maxMs, this.policy.firstMs * 2 ** this.inARow);
    this.inARow++;
    return delay;
  }
}
