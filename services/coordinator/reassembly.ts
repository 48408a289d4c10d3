/**
 * Chunked updates on their way to the aggregator, with where each began. Pure (positions and times
 * are passed in).
 *
 * The rule: an incomplete chunked update is held only while
 *   - it fits the reassembly budget (ChunkAssembler: count, per worker, bytes, largest payload), and
 *   - its last chunk arrives within `maxSpanRecords` records of its first in the same partition, and
 *     within `maxAgeMs` of the first chunk's arrival.
 * Past either bound it expires: rejected with TRIB_CHUNK_EXPIRED and its memory freed. Committed
 * offsets never pass the first chunk of an update still held, so after a restart a partition is
 * re-read from at most `maxSpanRecords` records (or `maxAgeMs` of traffic) behind where it was.
 */
import { DEFAULT_REASSEMBLY_BUDGET, type ReassemblyBudget } from '../../lib/core/chunking.js';
import { WireError } from '../../lib/core/errors.js';
import { RecordAssembler } from '../../lib/wire/records.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';

export interface ReassemblyLimits extends ReassemblyBudget {
  readonly maxSpanRecords: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = Object.freeze({
  ...DEFAULT_REASSEMBLY_BUDGET,
  maxPendingBytes: 256 * 1024 * 1024,
  maxPending: 64,
  maxPendingPerOwner: 4,
  maxSpanRecords: 10_000,
  maxAgeMs: 120_000,
});

export interface PendingStart {
  readonly key: string;
  readonly workerId: string;
  readonly partition: number;
  readonly offset: number;
  readonly atMs: number;
}

export interface Expired extends PendingStart {
  readonly error: WireError;
}

export class UpdateReassembly {
  private readonly assembler: RecordAssembler<ModelUpdate>;
  private readonly starts = new Map<string, PendingStart>();

  constructor(private readonly limits: ReassemblyLimits) {
    this.assembler = new RecordAssembler<ModelUpdate>(limits);
  }

  /** The whole update once its last chunk is in, else null; throws WireError (the key is then dropped). */
  accept(
    partition: number,
    offset: number,
    key: string,
    record: ModelUpdate,
    atMs: number,
  ): ModelUpdate | null {
    try {
      const whole = this.assembler.accept(key, record, record.workerId);
      if (whole) this.starts.delete(key);
      else if (!this.starts.has(key))
        this.starts.set(key, { key, workerId: record.workerId, partition, offset, atMs });
      return whole;
    } catch (error) {
      this.drop(key);
      throw error;
    }
  }

  drop(key: string): void {
    this.assembler.drop(key);
    this.starts.delete(key);
  }

  has(key: string): boolean {
    return this.starts.has(key);
  }

  /** Held updates that a record at `offset` of `partition`, or the time `nowMs`, puts past a bound. */
  expire(nowMs: number, position?: { partition: number; offset: number }): Expired[] {
    const expired: Expired[] = [];
    for (const start of this.starts.values()) {
      const span = position && position.partition === start.partition ? position.offset - start.offset : 0;
      const age = nowMs - start.atMs;
      if (span <= this.limits.maxSpanRecords && age <= this.limits.maxAgeMs) continue;
      const why =
        span > this.limits.maxSpanRecords
          ? `its last chunk did not arrive within ${this.limits.maxSpanRecords} records of its first`
          : `its last chunk did not arrive within ${this.limits.maxAgeMs} ms of its first`;
      expired.push({
        ...start,
        error: new WireError('TRIB_CHUNK_EXPIRED', `chunked update ${start.key.slice(0, 128)}: ${why}`),
      });
    }
    for (const e of expired) this.drop(e.key);
    return expired;
  }

  /** The lowest offset per partition that must be re-read after a restart (first chunks still held). */
  firstHeldOffset(partition: number): number | undefined {
    let first: number | undefined;
    for (const s of this.starts.values())
      if (s.partition === partition && (first === undefined || s.offset < first)) first = s.offset;
    return first;
  }

  get heldKeys(): string[] {
    return [...this.starts.keys()];
  }

  get heldBytes(): number {
    return this.assembler.heldBytes;
  }

  get size(): number {
    return this.starts.size;
  }
}
