/**
 * A bounded window over a stream of examples, pure (no clock: times come with the records): the
 * last `maxRecords` examples and/or those no older than `maxAgeMs` before the newest one. Examples
 * live in one preallocated ring of features and targets, so memory is fixed at construction
 * however long the stream runs.
 */

export interface WindowBounds {
  /** At most this many examples (required: it sizes the ring). */
  readonly maxRecords: number;
  /** Drop examples older than this before the newest example's time (null: count bound only). */
  readonly maxAgeMs: number | null;
}

export interface WindowStats {
  readonly size: number;
  /** Time of the oldest and newest example held (null when empty). */
  readonly fromMs: number | null;
  readonly toMs: number | null;
  /** Examples ever added, and evicted (by count or age). */
  readonly added: number;
  readonly evicted: number;
  /** Bytes of the ring's arrays: fixed. */
  readonly bytes: number;
}

export interface WindowSnapshot {
  readonly features: Float32Array;
  readonly targets: Float32Array;
  readonly timestamps: Float64Array;
  readonly ids: readonly string[];
  readonly count: number;
}

export class RecordWindow {
  private readonly features: Float32Array;
  private readonly targets: Float32Array;
  private readonly times: Float64Array;
  private readonly ids: string[];
  /** Index of the oldest example, and how many are held. */
  private head = 0;
  private count = 0;
  private added = 0;
  private evicted = 0;
  /** The newest time ever added: the age bound counts back from it. */
  private newestMs = -Infinity;

  constructor(
    readonly bounds: WindowBounds,
    readonly featureWidth: number,
    readonly targetWidth: number,
  ) {
    if (!Number.isInteger(bounds.maxRecords) || bounds.maxRecords < 1)
      throw new RangeError('maxRecords must be a whole number >= 1');
    if (bounds.maxAgeMs !== null && !(bounds.maxAgeMs > 0))
      throw new RangeError('maxAgeMs must be > 0 or null');
    this.features = new Float32Array(bounds.maxRecords * featureWidth);
    this.targets = new Float32Array(bounds.maxRecords * targetWidth);
    this.times = new Float64Array(bounds.maxRecords);
    this.ids = new Array<string>(bounds.maxRecords).fill('');
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds one example (features and target of the declared widths); evicts the oldest past the
   * count bound, then everything older than maxAgeMs before the newest time. A record older than
   * the window already allows is not added (returns false). Eviction goes in arrival order: a
   * record that arrived late (another partition) leaves when it reaches the front.
   */
  add(id: string, timestampMs: number, features: ArrayLike<number>, target: ArrayLike<number>): boolean {
    if (features.length !== this.featureWidth || target.length !== this.targetWidth)
      throw new RangeError(
        `example ${id}: ${features.length} features and ${target.length} targets, expected ${this.featureWidth} and ${this.targetWidth}`,
      );
    const newest = Math.max(this.newestMs, timestampMs);
    if (this.bounds.maxAgeMs !== null && timestampMs < newest - this.bounds.maxAgeMs) return false;
    if (this.count === this.bounds.maxRecords) this.dropOldest();
    const slot = (this.head + this.count) % this.bounds.maxRecords;
    this.features.set(features, slot * this.featureWidth);
    this.targets.set(target, slot * this.targetWidth);
    this.times[slot] = timestampMs;
    this.ids[slot] = id;
    this.count += 1;
    this.added += 1;
    this.newestMs = newest;
    if (this.bounds.maxAgeMs !== null)
      while (this.count > 0 && (this.times[this.head] as number) < newest - this.bounds.maxAgeMs)
        this.dropOldest();
    return true;
  }

  private dropOldest(): void {
    this.ids[this.head] = '';
    this.head = (this.head + 1) % this.bounds.maxRecords;
    this.count -= 1;
    this.evicted += 1;
  }

  /** A copy of what the window holds, oldest first: training reads it while the stream goes on. */
  snapshot(): WindowSnapshot {
    const n = this.count;
    const features = new Float32Array(n * this.featureWidth);
    const targets = new Float32Array(n * this.targetWidth);
    const timestamps = new Float64Array(n);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const slot = (this.head + i) % this.bounds.maxRecords;
      features.set(
        this.features.subarray(slot * this.featureWidth, (slot + 1) * this.featureWidth),
        i * this.featureWidth,
      );
      targets.set(
        this.targets.subarray(slot * this.targetWidth, (slot + 1) * this.targetWidth),
        i * this.targetWidth,
      );
      timestamps[i] = this.times[slot] as number;
      ids.push(this.ids[slot] as string);
    }
    return { features, targets, timestamps, ids, count: n };
  }

  stats(): WindowStats {
    let fromMs: number | null = null;
    let toMs: number | null = null;
    for (let i = 0; i < this.count; i++) {
      const t = this.times[(this.head + i) % this.bounds.maxRecords] as number;
      fromMs = fromMs === null ? t : Math.min(fromMs, t);
      toMs = toMs === null ? t : Math.max(toMs, t);
    }
    return {
      size: this.count,
      fromMs,
      toMs,
      added: this.added,
      evicted: this.evicted,
      bytes: this.features.byteLength + this.targets.byteLength + this.times.byteLength,
    };
  }
}
