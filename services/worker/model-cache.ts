/** Recent global model versions as flat weights, with waiters for a version not yet seen. */
export class ModelCache {
  private readonly versions = new Map<number, Float32Array>();
  private readonly waiters = new Map<number, (() => void)[]>();

  constructor(private readonly capacity: number) {}

  put(version: number, weights: Float32Array): void {
    this.versions.set(version, weights);
    while (this.versions.size > this.capacity) {
      const oldest = Math.min(...this.versions.keys());
      this.versions.delete(oldest);
    }
    for (const wake of this.waiters.get(version) ?? []) wake();
    this.waiters.delete(version);
  }

  async waitFor(version: number, timeoutMs: number, signal: AbortSignal): Promise<Float32Array | undefined> {
    const found = this.versions.get(version);
    if (found) return found;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => (clearTimeout(timer), resolve());
      this.waiters.set(version, [...(this.waiters.get(version) ?? []), done]);
      signal.addEventListener('abort', done, { once: true });
    });
    return this.versions.get(version);
  }
}
