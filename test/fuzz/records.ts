/**
 * Honest updates for the fuzz corpus, and the options and case shape every part of it shares.
 */
import { frame } from '../../lib/wire/confluent.js';
import { messageType, type ModelUpdate } from '../../lib/wire/schemas.js';
import { toRecords } from '../../lib/wire/records.js';
import type { Random } from '../../lib/core/random.js';
import { splitFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { encodeTraced } from './avro-trace.js';

export interface HostileCase {
  readonly family: 'wire' | 'value' | 'frame' | 'noise';
  readonly name: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly mustReject: boolean;
}

export interface CorpusOptions {
  readonly seed: number;
  readonly layout: ModelLayout;
  readonly jobId: string;
  /** Registry id of the ModelUpdate schema the records are framed with. */
  readonly schemaId: number;
  /** Ids that exist but name other schemas (other messages, JSON Schema, Protobuf). */
  readonly wrongKindSchemaIds?: readonly number[];
  readonly baseVersion: number;
  /** A typical honest delta norm for this task (value lies scale deltas far above it). */
  readonly honestNorm: number;
}

export const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

/** An honest update with a delta of about `norm`, in `encoding`, as one record. */
export function honestUpdate(
  options: CorpusOptions,
  updateId: string,
  norm: number,
  encoding: TensorEncoding = 'FLOAT32',
  changes: Partial<ModelUpdate> = {},
  fill?: (i: number) => number,
): ModelUpdate {
  const { layout } = options;
  const each = norm / Math.sqrt(layout.size);
  const flat = new Float32Array(layout.size).map((_, i) => (fill ? fill(i) : i % 2 === 0 ? each : -each));
  const [record] = toRecords<ModelUpdate>(
    {
      updateId,
      taskId: `task-${updateId}`,
      jobId: options.jobId,
      workerId: 'mallory',
      baseVersion: options.baseVersion,
      numExamples: 100,
      metrics: { loss: 0.5 },
      timings: { startedAtMs: 1_790_000_000_000, finishedAtMs: 1_790_000_001_000 },
    },
    splitFlat(layout, flat),
    encoding,
    1 << 30,
  );
  // Changes go on last: toRecords sets `chunk` itself, and a lie about it must survive.
  return { ...(record as ModelUpdate), ...changes };
}

export function framed(options: CorpusOptions, update: ModelUpdate): Buffer {
  // Our own encoder: avsc refuses to write longs beyond ±(2^53 - 2), a hostile client need not.
  return frame(options.schemaId, encodeTraced(messageType('ModelUpdate'), update).bytes);
}
