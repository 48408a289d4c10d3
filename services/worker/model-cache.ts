/**
 * Recent global model versions as flat weights, with waiters for a version not yet seen. Holds at
 * most `maxBytes` of weights and never fewer than two versions (the newest, and the one a task in
 * progress may still need), so a worker's memory does not grow with the model's history.
 */
export class ModelCache {
  private readonly versions = new Map<number, Float32Array>();
  private readonly waiters = new Map<number, (() => void)[]>();
  private readonly failures = new Map<number, { code: string; message: string }>();

  constructor(private readonly maxBytes: number) {}

  /** How many versions of `bytesPerModel` fit (at least two). */
  capacity(bytesPerModel: number): number {
    return Math.max(2, Math.floor(this.maxBytes / Math.max(1, bytesPerModel)));
  }

  /** A version this worker could not read (it will not arrive: waiters are told at once). */
  fail(version: number, problem: { code: string; message: string }): void {
    this.failures.set(version, problem);
    while (this.failures.size > 64) this.failures.delete(this.failures.keys().next().value as number);
    for (const wake of this.waiters.get(version) ?? []) wake();
    this.waiters.delete(version);
  }

  /** The newest version held, or null. */
  get newest(): number | null {
    return this.versions.size === 0 ? null : Math.max(...this.versions.keys());
  }

  failure(version: number): { code: string; message: string } | undefined {
    return this.failures.get(version);
  }

  put(version: number, weights: Float32Array): void {
    this.versions.set(version, weights);
    this.failures.delete(version);
    while (this.versions.size > this.capacity(weights.byteLength)) {
      const oldest = Math.min(...this.versions.keys());
      this.versions.delete(oldest);
    }
    for (const wake of this.waiters.get(version) ?? []) wake();
    this.waiters.delete(version);
  }

  async waitFor(version: number, timeoutMs: number, signal: AbortSignal): Promise<Float32Array | undefined> {
    const found = this.versions.get(version);
    if (found || this.failures.has(version)) return found;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => (clearTimeout(timer), resolve());
      this.waiters.set(version, [...(this.waiters.get(version) ?? []), done]);
      signal.addEventListener('abort', done, { once: true });
    });
    return this.versions.get(version);
  }
}
