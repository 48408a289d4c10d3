/**
 * Messages that carry tensors (ModelUpdate, GlobalModel): from named tensors to one or more records
 * (split when larger than the chunk limit, every chunk a complete, valid Avro record repeating the
 * metadata), and back. Pure; Kafka and the registry live in the services.
 */
import { ChunkAssembler, splitIntoChunks, type ReassemblyBudget } from '../core/chunking.js';
import { decodeTensors, encodeTensors, type NamedTensor, type TensorEncoding } from '../core/tensors.js';
import type { UpdateForFold } from '../core/fedbuff/aggregator.js';
import type { ModelUpdate, WireChunkInfo, WireTensorDescriptor } from './schemas.js';

export interface TensorRecord {
  tensors: WireTensorDescriptor[];
  data: Buffer;
  chunk: WireChunkInfo | null;
}

/** One record when the encoded tensors fit in `maxChunkBytes`, else ordered chunk records. */
export function toRecords<T extends TensorRecord>(
  base: Omit<T, keyof TensorRecord>,
  tensors: readonly NamedTensor[],
  encoding: TensorEncoding,
  maxChunkBytes: number,
): T[] {
  const encoded = encodeTensors(tensors, encoding);
  const descriptors = encoded.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  // One record needs no chunk header, so no hash of the payload (SHA-256 of a 4 MB update: 2.4 ms
  // here, done for nothing before: toRecords took 3.3 ms, now 0.7).
  if (maxChunkBytes >= 1 && encoded.data.length <= maxChunkBytes) {
    return [
      {
        ...base,
        tensors: descriptors,
        data: Buffer.from(encoded.data.buffer, encoded.data.byteOffset, encoded.data.length),
        chunk: null,
      } as T,
    ];
  }
  return splitIntoChunks(encoded.data, maxChunkBytes).map(
    ({ info, data }) =>
      ({
        ...base,
        tensors: descriptors,
        data: Buffer.from(data.buffer, data.byteOffset, data.length),
        chunk: { ...info, sha256: Buffer.from(info.sha256) },
      }) as T,
  );
}

/** Reassembles chunked records by key; unchunked records pass straight through. */
export class RecordAssembler<T extends TensorRecord> {
  private readonly assembler: ChunkAssembler;

  constructor(budget: Partial<ReassemblyBudget> = {}) {
    this.assembler = new ChunkAssembler(budget);
  }

  get pendingKeys(): string[] {
    return this.assembler.pendingKeys;
  }

  get heldBytes(): number {
    return this.assembler.heldBytes;
  }

  /**
   * The whole record once complete (with chunk = null), else null; throws WireError on a bad chunk.
   * `owner` is whom the record names as its producer, for the per-owner budget.
   */
  accept(key: string, record: T, owner = ''): T | null {
    if (record.chunk === null) return record;
    const result = this.assembler.add(key, { info: record.chunk, data: record.data }, owner);
    if (!result.complete) return null;
    return {
      ...record,
      data: Buffer.from(result.data.buffer, result.data.byteOffset, result.data.length),
      chunk: null,
    };
  }

  drop(key: string): void {
    this.assembler.drop(key);
  }
}

export function tensorsOf(record: TensorRecord, into?: Float32Array): NamedTensor[] {
  return decodeTensors(record.tensors, record.data, into);
}

/**
 * A whole (reassembled) ModelUpdate as the aggregator's input: metadata plus decoded tensors,
 * decoded into `into` when given (the aggregator's staging area: folded from there without a copy).
 */
export function toFoldInput(update: ModelUpdate, into?: Float32Array): UpdateForFold {
  return {
    updateId: update.updateId,
    jobId: update.jobId,
    workerId: update.workerId,
    baseVersion: update.baseVersion,
    numExamples: update.numExamples,
    tensors: tensorsOf(update, into),
  };
}
