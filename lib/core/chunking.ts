/**
 * Splitting a payload larger than the record limit into ordered chunks, and reassembling them.
 * Every chunk carries its index, the count, its offset, the total length and the SHA-256 of the
 * whole payload. Chunks of one payload share a key (so one partition, in order); chunks of several
 * payloads may interleave. A missing, duplicated, inconsistent or corrupt chunk rejects the whole
 * payload.
 */
import { createHash } from 'node:crypto';
import { WireError } from './errors.js';

export interface ChunkInfo {
  readonly index: number;
  readonly count: number;
  readonly offset: number;
  readonly totalBytes: number;
  readonly sha256: Uint8Array;
}

export interface Chunk {
  readonly info: ChunkInfo;
  readonly data: Uint8Array;
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** `data` in slices of at most `maxChunkBytes` (one, possibly empty, when it fits): views, not copies. */
export function chunkViews(data: Uint8Array, maxChunkBytes: number): Uint8Array[] {
  if (!(maxChunkBytes >= 1)) throw new RangeError('maxChunkBytes must be at least 1');
  const count = Math.max(1, Math.ceil(data.length / maxChunkBytes));
  return Array.from({ length: count }, (_, index) =>
    data.subarray(index * maxChunkBytes, Math.min(data.length, (index + 1) * maxChunkBytes)),
  );
}

/** One chunk when `data` fits in `maxChunkBytes`; chunks are views into `data`, not copies. */
export function splitIntoChunks(data: Uint8Array, maxChunkBytes: number): Chunk[] {
  const views = chunkViews(data, maxChunkBytes);
  const hash = sha256(data);
  return views.map((slice, index) => ({
    info: {
      index,
      count: views.length,
      offset: index * maxChunkBytes,
      totalBytes: data.length,
      sha256: hash,
    },
    data: slice,
  }));
}

interface Pending {
  readonly owner: string;
  readonly count: number;
  readonly totalBytes: number;
  readonly sha256: Uint8Array;
  readonly buffer: Uint8Array;
  nextIndex: number;
  received: number;
}

export type ChunkResult =
  { readonly complete: true; readonly data: Uint8Array } | { readonly complete: false };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * What incomplete payloads may hold at once. Every field of a chunk can lie, so the first chunk's
 * claims are checked against these before its buffer is allocated; past a budget the new payload is
 * refused (TRIB_REASSEMBLY_BUDGET) and nothing is held for it.
 */
export interface ReassemblyBudget {
  /** Bytes of all incomplete payloads together. */
  readonly maxPendingBytes: number;
  /** Incomplete payloads at once. */
  readonly maxPending: number;
  /** Incomplete payloads at once with the same owner (the worker a chunk names). */
  readonly maxPendingPerOwner: number;
  /** The largest whole payload (for model updates: the model in FLOAT32). */
  readonly maxPayloadBytes: number;
}

export const DEFAULT_REASSEMBLY_BUDGET: ReassemblyBudget = Object.freeze({
  maxPendingBytes: 512 * 1024 * 1024,
  maxPending: 64,
  maxPendingPerOwner: 64,
  maxPayloadBytes: 2 ** 31 - 1,
});

/**
 * Reassembles interleaved payloads by key. Chunks of one key must arrive in index order (they share
 * a partition); a gap means a chunk went missing, a repeat means a duplicate. On any error the
 * pending payload for that key is dropped whole, so nothing partial is ever returned.
 */
export class ChunkAssembler {
  private readonly pending = new Map<string, Pending>();
  private readonly perOwner = new Map<string, number>();
  private pendingBytes = 0;
  private readonly budget: ReassemblyBudget;

  constructor(budget: Partial<ReassemblyBudget> = {}) {
    this.budget = { ...DEFAULT_REASSEMBLY_BUDGET, ...budget };
  }

  get pendingKeys(): string[] {
    return [...this.pending.keys()];
  }

  /** Bytes held by incomplete payloads. */
  get heldBytes(): number {
    return this.pendingBytes;
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  add(key: string, chunk: Chunk, owner = ''): ChunkResult {
    const { info, data } = chunk;
    if (
      !Number.isSafeInteger(info.count) ||
      !Number.isSafeInteger(info.index) ||
      !Number.isSafeInteger(info.offset) ||
      !Number.isSafeInteger(info.totalBytes) ||
      info.count < 1 ||
      info.index < 0 ||
      info.index >= info.count ||
      info.totalBytes < 0 ||
      info.sha256.length !== 32
    ) {
      this.drop(key);
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `chunk ${info.index}/${info.count} of ${key} has an impossible position`,
      );
    }
    if (info.count === 1) {
      if (this.pending.has(key)) {
        this.drop(key);
        throw new WireError(
          'TRIB_CHUNK_MISSING',
          `${key}: a new payload started before the previous one was complete`,
        );
      }
      if (data.length !== info.totalBytes || !sameBytes(sha256(data), info.sha256)) {
        throw new WireError('TRIB_CHUNK_CORRUPT', `${key}: payload fails its length or SHA-256 check`);
      }
      return { complete: true, data };
    }

    let entry = this.pending.get(key);
    if (!entry) {
      if (info.index !== 0) {
        throw new WireError(
          'TRIB_CHUNK_MISSING',
          `${key}: chunk ${info.index}/${info.count} arrived without chunk 0`,
          {
            details: { key, index: info.index },
          },
        );
      }
      this.admit(key, info, data, owner);
      entry = {
        owner,
        count: info.count,
        totalBytes: info.totalBytes,
        sha256: info.sha256,
        buffer: new Uint8Array(info.totalBytes),
        nextIndex: 0,
        received: 0,
      };
      this.pending.set(key, entry);
      this.pendingBytes += info.totalBytes;
      this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    } else if (
      info.count !== entry.count ||
      info.totalBytes !== entry.totalBytes ||
      !sameBytes(info.sha256, entry.sha256)
    ) {
      this.drop(key);
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `${key}: chunk ${info.index} disagrees with chunk 0 on count, length or hash`,
      );
    }

    if (info.index < entry.nextIndex) {
      this.drop(key);
      throw new WireError('TRIB_CHUNK_DUPLICATE', `${key}: chunk ${info.index}/${info.count} arrived twice`);
    }
    if (info.index > entry.nextIndex) {
      this.drop(key);
      throw new WireError(
        'TRIB_CHUNK_MISSING',
        `${key}: chunk ${entry.nextIndex}/${info.count} is missing (got ${info.index})`,
      );
    }
    if (info.offset !== entry.received || info.offset + data.length > entry.totalBytes) {
      this.drop(key);
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `${key}: chunk ${info.index} has offset ${info.offset}, expected ${entry.received}`,
      );
    }
    entry.buffer.set(data, info.offset);
    entry.received += data.length;
    entry.nextIndex += 1;
    if (entry.nextIndex < entry.count) return { complete: false };

    this.drop(key);
    if (entry.received !== entry.totalBytes || !sameBytes(sha256(entry.buffer), entry.sha256)) {
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `${key}: reassembled payload fails its length or SHA-256 check`,
      );
    }
    return { complete: true, data: entry.buffer };
  }

  /** Checks a first chunk's claims and the budgets before anything is allocated for it. */
  private admit(key: string, info: ChunkInfo, data: Uint8Array, owner: string): void {
    const { budget } = this;
    if (info.totalBytes > budget.maxPayloadBytes)
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `${key}: claims ${info.totalBytes} bytes, more than the largest payload (${budget.maxPayloadBytes})`,
      );
    // Every chunk of a split payload carries at least one byte, and the first starts at 0.
    if (
      info.count > info.totalBytes ||
      info.offset !== 0 ||
      data.length === 0 ||
      data.length > info.totalBytes
    )
      throw new WireError(
        'TRIB_CHUNK_CORRUPT',
        `${key}: ${info.count} chunks of ${info.totalBytes} bytes with a first chunk of ${data.length} is impossible`,
      );
    if (this.pending.size >= budget.maxPending)
      throw new WireError(
        'TRIB_REASSEMBLY_BUDGET',
        `${key}: ${this.pending.size} payloads are already incomplete (limit ${budget.maxPending})`,
      );
    if ((this.perOwner.get(owner) ?? 0) >= budget.maxPendingPerOwner)
      throw new WireError(
        'TRIB_REASSEMBLY_BUDGET',
        `${key}: ${owner || 'this owner'} already has ${budget.maxPendingPerOwner} incomplete payloads`,
      );
    if (this.pendingBytes + info.totalBytes > budget.maxPendingBytes)
      throw new WireError(
        'TRIB_REASSEMBLY_BUDGET',
        `${key}: ${info.totalBytes} more bytes would exceed the reassembly budget of ${budget.maxPendingBytes}`,
      );
  }

  /** Drops an incomplete payload (its producer died, or it outlived its span), freeing its memory. */
  drop(key: string): boolean {
    const entry = this.pending.get(key);
    if (!entry) return false;
    this.pending.delete(key);
    this.pendingBytes -= entry.totalBytes;
    const owned = (this.perOwner.get(entry.owner) ?? 1) - 1;
    if (owned > 0) this.perOwner.set(entry.owner, owned);
    else this.perOwner.delete(entry.owner);
    return true;
  }
}
