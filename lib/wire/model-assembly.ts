/**
 * Reading global models from the compacted `models` topic, where a model larger than the chunk
 * limit is several GlobalModel records. The rule, shared by every reader (docs/topics.md):
 *   - chunk i of every version is keyed `<job>#<i>` (a whole model: `<job>`), so compaction keeps
 *     the newest version's chunks and drops older ones;
 *   - chunks are grouped by version, never by key, and checked against the first (count, length,
 *     SHA-256) like any chunked payload;
 *   - the coordinator writes one version's chunks in one transaction on a one-partition topic, so
 *     they are contiguous and in order. Compaction removes only a prefix of the log, so a reader
 *     can meet the *tail* of an old version (chunk 0 gone) — skipped quietly, a newer version
 *     follows — but never a version that starts and then breaks off. A version that starts and
 *     does not complete before another begins, or fails its hash, is an error the reader reports.
 * At most one incomplete version is held. Pure.
 */
import { ChunkAssembler } from '../core/chunking.js';
import { WireError } from '../core/errors.js';
import type { GlobalModel } from './schemas.js';

export type ModelAssembly =
  | { readonly kind: 'whole'; readonly model: GlobalModel }
  | { readonly kind: 'partial' }
  /** The tail of a version whose first chunk this reader never saw (compaction, or a late start). */
  | { readonly kind: 'skipped'; readonly version: number }
  | { readonly kind: 'broken'; readonly version: number; readonly error: WireError };

export class ModelAssembler {
  private current: { version: number; assembler: ChunkAssembler } | null = null;

  constructor(private readonly maxModelBytes: number) {}

  /** One record: what it completes or breaks, and (`ended`) the incomplete version it cut off, if any. */
  accept(record: GlobalModel): { outcome: ModelAssembly; ended?: ModelAssembly } {
    const ended = this.current && this.current.version !== record.version ? this.abandon() : undefined;
    const outcome = this.place(record);
    return ended ? { outcome, ended } : { outcome };
  }

  private abandon(): ModelAssembly {
    const version = this.current?.version ?? -1;
    this.current = null;
    return {
      kind: 'broken',
      version,
      error: new WireError(
        'TRIB_CHUNK_MISSING',
        `model version ${version} ended before its last chunk arrived`,
      ),
    };
  }

  private place(record: GlobalModel): ModelAssembly {
    if (record.chunk === null) return { kind: 'whole', model: record };
    if (!this.current) {
      if (record.chunk.index !== 0) return { kind: 'skipped', version: record.version };
      this.current = {
        version: record.version,
        assembler: new ChunkAssembler({
          maxPending: 1,
          maxPayloadBytes: this.maxModelBytes,
          maxPendingBytes: this.maxModelBytes,
        }),
      };
    }
    const { version, assembler } = this.current;
    try {
      const result = assembler.add('model', { info: record.chunk, data: record.data });
      if (!result.complete) return { kind: 'partial' };
      this.current = null;
      const data = Buffer.from(result.data.buffer, result.data.byteOffset, result.data.length);
      return { kind: 'whole', model: { ...record, data, chunk: null } };
    } catch (error) {
      this.current = null;
      const wire = error instanceof WireError ? error : new WireError('TRIB_CHUNK_CORRUPT', String(error));
      return { kind: 'broken', version, error: wire };
    }
  }
}
