/**
 * Aggregator checkpoints of any size on the compacted `checkpoints` topic, inside the step
 * transaction. A checkpoint is
 *   chunk records   key `<job>#<i>`, value = slice i of the serialised aggregator (≤ chunk limit)
 *   one manifest    key `<job>`,     value = JSON {format, offsets of the chunks, totalBytes,
 *                                    sha256, cursor, leases}, written last
 * Compaction keeps the newest record per key, so the newest manifest and the chunks it names
 * survive (a later checkpoint with fewer chunks leaves stale higher chunks, which no manifest
 * names). Recovery reads backwards from the end for the newest committed manifest, then reads
 * just the chunks it names and checks their hash: its time is bounded by the checkpoint's size
 * (plus a short tail), not by the topic's history. A record under `<job>` that is itself a whole
 * serialised aggregator (before checkpoints were chunked) is still restored.
 */
import { createHash } from 'node:crypto';
import type { Kafka, Message, Transaction } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { chunkViews } from '../../lib/core/chunking.js';
import { TributaryError } from '../../lib/core/errors.js';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { fetchOffsetsSettled, ReadPosition } from '../../lib/kafka/read.js';
import { restoreAggregator } from '../../lib/core/fedbuff/state.js';
import type { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import type { Logger } from '../../lib/log.js';
import { decodeCursor, type ReplayCursor } from './cursor.js';

const FORMAT = 'tributary-checkpoint-manifest-1';
const LEGACY_MAGIC = 'TRIBAGG1';

export interface CheckpointManifest {
  readonly format: typeof FORMAT;
  readonly offsets: number[];
  readonly totalBytes: number;
  readonly sha256: string;
  readonly cursor: unknown;
  /** The leases live at the step (./lease-handover.ts); absent in checkpoints written before. */
  readonly leases?: unknown;
}

export interface RestoredCheckpoint {
  readonly bytes: Uint8Array;
  readonly cursor: unknown;
  readonly leases: unknown;
  readonly chunks: number;
  readonly seconds: number;
}

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * The chunk records of one checkpoint of `bytes` (views, not copies). The step sends them in the
 * same request as the model (./step.ts), then the manifest naming their offsets.
 */
export function checkpointChunks(jobId: string, bytes: Uint8Array, maxChunkBytes: number): Message[] {
  return chunkViews(bytes, maxChunkBytes).map((data, i) => ({
    key: `${jobId}#${i}`,
    value: Buffer.from(data.buffer, data.byteOffset, data.length),
  }));
}

/** Writes the manifest of a checkpoint whose chunks were written at `offsets`, last, into `tx`. */
export async function writeCheckpointManifest(
  tx: Transaction,
  topic: string,
  jobId: string,
  bytes: Uint8Array,
  cursor: unknown,
  offsets: number[],
  leases?: unknown,
): Promise<CheckpointManifest> {
  const manifest: CheckpointManifest = {
    format: FORMAT,
    offsets,
    totalBytes: bytes.length,
    sha256: hex(bytes),
    cursor,
    leases,
  };
  await tx.send({ topic, messages: [{ key: jobId, value: Buffer.from(JSON.stringify(manifest)) }] });
  return manifest;
}

function parseManifest(value: Buffer): CheckpointManifest | 'legacy' | null {
  if (value.subarray(0, 8).toString('latin1') === LEGACY_MAGIC) return 'legacy';
  try {
    const m = JSON.parse(value.toString('utf8')) as CheckpointManifest;
    return m.format === FORMAT && Array.isArray(m.offsets) ? m : null;
  } catch {
    return null;
  }
}

/**
 * The newest committed checkpoint, or null when the topic has none. Reads the last 8 offsets for
 * a manifest (a window 4× larger each time none is there), then only the chunks it names.
 */
export async function readLatestCheckpoint(
  kafka: Kafka,
  topic: string,
  jobId: string,
  options: { now?: () => number; quietMs?: number } = {},
): Promise<RestoredCheckpoint | null> {
  const now = options.now ?? Date.now;
  // Caught up is normally known exactly: the end offset is read after this process's transactional
  // producer fenced its predecessor (its open transaction aborted), so every offset below it is
  // decided, and kafkajs reports batches of transaction markers too (END_BATCH_PROCESS). Quiet is
  // only the fallback for a tail compaction emptied.
  const quietMs = options.quietMs ?? 2000;
  const startedAt = now();
  const admin = kafka.admin();
  await admin.connect();
  const [partition] = await fetchOffsetsSettled(admin, topic).finally(() => admin.disconnect());
  const low = Number(partition?.low ?? 0);
  const high = Number(partition?.high ?? 0);
  if (high <= low) return null;

  const consumer = kafka.consumer({
    groupId: `tributary.${jobId}.coordinator.recovery.${randomUUID()}`,
    readUncommitted: false,
    // Also bounds how long disconnecting waits for a fetch in flight (the default is 5 s).
    maxWaitTimeInMs: 100,
    ...LARGE_RECORD_CONSUMER,
  });
  let phase: 'find' | 'collect' = 'find';
  // The newest manifest is normally the last record before a commit marker: start with a short tail.
  let windowStart = Math.max(low, high - 8);
  // Set from the consumer's callback: a holder, so the loop below reads what it wrote.
  const found: { manifest: CheckpointManifest | null; legacy: Buffer | null } = {
    manifest: null,
    legacy: null,
  };
  const wanted = new Map<number, Buffer | null>();
  const position = new ReadPosition(consumer, topic, now);
  position.startAt(0, windowStart);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const offset = Number(message.offset);
        if (phase === 'find') {
          if (offset < windowStart || message.key?.toString() !== jobId || !message.value) return;
          const parsed = parseManifest(message.value);
          if (parsed === 'legacy') {
            found.legacy = message.value;
            found.manifest = null;
          } else if (parsed) {
            found.manifest = parsed;
            found.legacy = null;
          }
        } else if (wanted.has(offset) && message.value) wanted.set(offset, message.value);
      },
    });
    const deadline = startedAt + 10 * 60_000;
    for (;;) {
      if (now() > deadline)
        throw new TributaryError('TRIB_STATE_CORRUPT', `no complete checkpoint could be read from ${topic}`);
      await new Promise((r) => setTimeout(r, 50));
      if (phase === 'find') {
        if (!position.caughtUp(0, high) && !position.quietFor(quietMs)) continue;
        const { legacy, manifest } = found;
        if (legacy)
          return {
            bytes: legacy,
            cursor: undefined,
            leases: undefined,
            chunks: 1,
            seconds: (now() - startedAt) / 1000,
          };
        if (manifest) {
          phase = 'collect';
          for (const o of manifest.offsets) wanted.set(o, null);
          if (manifest.offsets.length === 0) break;
          position.seek(0, Math.min(...manifest.offsets));
          continue;
        }
        if (windowStart <= low) return null;
        windowStart = Math.max(low, high - 4 * (high - windowStart));
        position.seek(0, windowStart);
      } else if ([...wanted.values()].every((v) => v !== null)) break;
    }
  } finally {
    await consumer.disconnect();
  }
  const m = found.manifest;
  if (!m) return null;
  const bytes = Buffer.concat(m.offsets.map((o) => wanted.get(o) as Buffer));
  if (bytes.length !== m.totalBytes || hex(bytes) !== m.sha256)
    throw new TributaryError(
      'TRIB_STATE_CORRUPT',
      `checkpoint chunks on ${topic} do not match their manifest`,
    );
  const seconds = (now() - startedAt) / 1000;
  return { bytes, cursor: m.cursor, leases: m.leases, chunks: m.offsets.length, seconds };
}

/** The aggregator and replay cursor a checkpoint holds. */
export function restoreCheckpoint(
  checkpoint: RestoredCheckpoint,
  log: Logger,
): { aggregator: FedBuffAggregator; replay: ReplayCursor } {
  const aggregator = restoreAggregator(checkpoint.bytes);
  log.info('recovered', {
    version: aggregator.version,
    foldedIds: aggregator.snapshot().foldedIds.size,
    checkpointBytes: checkpoint.bytes.length,
    checkpointChunks: checkpoint.chunks,
    readSeconds: checkpoint.seconds,
  });
  return { aggregator, replay: decodeCursor(checkpoint.cursor) };
}
