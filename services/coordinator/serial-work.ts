/**
 * The coordinator's one lane: record handling, ticks and shutdown run one after another, so the
 * aggregator is never touched by two of them at once. After abandon() (a failed step: in-memory
 * state is ahead of Kafka), work queued or asked for later is dropped, quietly: it would build on
 * uncommitted state, and a consumer handler that throws during disconnect spins kafkajs's fetch
 * loop and starves the process.
 */
export class SerialWork {
  private chain: Promise<unknown> = Promise.resolve();
  private dropped = false;
  private readonly queuedOnce = new Set<string>();

  /** `onOnceFailed`: told of a once() run that threw (nobody awaits it). */
  constructor(private readonly onOnceFailed: (key: string, error: unknown) => void) {}

  get abandoned(): boolean {
    return this.dropped;
  }

  /** Runs `work` after everything queued before it (a dropped run resolves to undefined). */
  run<T>(work: () => Promise<T>): Promise<T> {
    const run = () => (this.dropped ? Promise.resolve(undefined as T) : work());
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Queues `work` unless a run under `key` is queued and not yet started: one run serves every
   * request made before it starts. Not awaited (callers may be inside serial work themselves).
   */
  once(key: string, work: () => Promise<unknown>): void {
    if (this.dropped || this.queuedOnce.has(key)) return;
    this.queuedOnce.add(key);
    void this.run(() => (this.queuedOnce.delete(key), work())).catch((error: unknown) =>
      this.onOnceFailed(key, error),
    );
  }

  abandon(): void {
    this.dropped = true;
  }
}
