/**
 * One server step (or rejection batch) as one Kafka transaction: the waiting rejections, the new
 * GlobalModel after a server step (chunk i of every version keyed `<job>#i`, docs/topics.md) and
 * its served average if the job keeps one, the aggregator checkpoint with its replay cursor
 * (./checkpoints.ts), and the consumer offsets of everything handled, never past the first chunk
 * of an update still held. All or nothing.
 */
import type { Message, Producer, RecordMetadata, Transaction } from 'kafkajs';
import { TributaryError } from '../../lib/core/errors.js';
import type { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import { splitFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { serializeAggregator } from '../../lib/core/fedbuff/state.js';
import { failpoint } from '../../lib/failpoints.js';
import { groupBySize, MAX_SEND_BYTES, messageBytes, requireWritten } from '../../lib/kafka/publish.js';
import type { SoleWriterOffsets } from '../../lib/kafka/sole-writer.js';
import { topicName } from '../../lib/kafka/topics.js';
import { toRecords } from '../../lib/wire/records.js';
import type { GlobalModel } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import { checkpointChunks, writeCheckpointManifest } from './checkpoints.js';
import { coordinatorGroupId } from './clients.js';
import type { CoordinatorConfig } from './config.js';
import { encodeCursor } from './cursor.js';
import { encodeLeaseHandover, handoverMaxBytes } from './lease-handover.js';
import type { Lease } from './leases.js';
import type { UpdateReassembly } from './reassembly.js';
import type { RejectionBatch } from './rejections.js';

export interface CommitStep {
  readonly publishModel: boolean;
  /** Write the aggregator checkpoint (always after a step; after a rejection batch while updates are buffered or held). */
  readonly checkpoint: boolean;
  readonly modelMetrics?: Record<string, number>;
  readonly foldedUpdateIds?: string[];
}

export interface StepState {
  readonly jobId: string;
  readonly config: CoordinatorConfig;
  readonly serde: AvroSerde;
  readonly schemaIds: { readonly model: number; readonly rejected: number };
  readonly layout: ModelLayout;
  readonly aggregator: FedBuffAggregator;
  readonly rejections: RejectionBatch;
  /** Next offset to read per `updates` partition. */
  readonly consumed: ReadonlyMap<number, number>;
  readonly reassembly: UpdateReassembly;
  /** The leases live now, handed to the next coordinator with the checkpoint. */
  readonly liveLeases: () => readonly Lease[];
  readonly now: () => number;
  /** Send the offsets beside the step's writes, not after them (librdkafka: see writeStep). */
  readonly offsetsBesideWrites: boolean;
  /** Where this coordinator's next model must land in `models` (lib/kafka/sole-writer.ts). */
  readonly modelOffsets: SoleWriterOffsets;
}

export async function writeStep(txProducer: Producer, step: CommitStep, s: StepState): Promise<void> {
  const tx = await txProducer.transaction();
  // The offsets do not depend on what the step writes: on librdkafka they are sent first and travel
  // beside the writes (AddOffsetsToTxn and TxnOffsetCommit off the step's path: bench step). On
  // kafkajs its AddPartitionsToTxn then meets the AddOffsetsToTxn at the transaction coordinator,
  // whose CONCURRENT_TRANSACTIONS answer failed steps until the coordinator gave up
  // (three-brokers.test.ts): kafkajs sends them in turn.
  const offsetsAhead = s.offsetsBesideWrites ? sendStepOffsets(tx, s) : null;
  offsetsAhead?.catch(() => undefined); // awaited below, or settled before an abort
  try {
    // Rejections are rare and bounded by their own limits (./rejections.ts): sent on their own.
    for (const group of s.rejections.groups())
      await tx.send({ topic: topicName(s.jobId, 'rejected'), messages: group });
    // The model and the checkpoint's chunks in one request per MAX_SEND_BYTES: one round trip to
    // add both partitions to the transaction and one to write, instead of two of each and a write
    // per further chunk.
    const models = topicName(s.jobId, 'models');
    const checkpoints = topicName(s.jobId, 'checkpoints');
    const outgoing: TopicMessage[] = [];
    if (step.publishModel) {
      for (const message of modelMessages(step, s, s.aggregator.model))
        outgoing.push({ topic: models, message });
      // The served average (lib/core/fedbuff/served.ts), of the same version, beside it.
      const served = s.aggregator.snapshot().served;
      if (served)
        for (const message of modelMessages(step, s, served))
          outgoing.push({ topic: topicName(s.jobId, 'served'), message });
    }
    const state = step.checkpoint ? serializeAggregator(s.aggregator) : null;
    if (state)
      for (const message of checkpointChunks(s.jobId, state, s.config.maxChunkBytes))
        outgoing.push({ topic: checkpoints, message });
    const chunkOffsets = await sendStepRecords(tx, outgoing, checkpoints, s.modelOffsets);
    if (state) {
      const cursor = encodeCursor({
        partitions: new Map(s.consumed),
        heldKeys: new Set(s.reassembly.heldKeys),
      });
      const leases = encodeLeaseHandover(s.liveLeases(), s.now(), handoverMaxBytes(s.config.maxChunkBytes));
      await writeCheckpointManifest(tx, checkpoints, s.jobId, state, cursor, chunkOffsets, leases);
    }
    await (offsetsAhead ?? sendStepOffsets(tx, s));
    failpoint(step.publishModel ? 'flush.before-commit' : 'reject.before-commit');
    await tx.commit();
    s.modelOffsets.committed();
    failpoint(step.publishModel ? 'flush.after-commit' : 'reject.after-commit');
    s.rejections.clear();
  } catch (error) {
    s.modelOffsets.abandoned();
    // A transactional call still in flight would make the abort a conflicting call.
    await offsetsAhead?.catch(() => undefined);
    await tx.abort().catch(() => undefined);
    throw error;
  }
}

/** The `updates` offsets this step commits: where reading resumes, before any update still held. */
async function sendStepOffsets(tx: Transaction, s: StepState): Promise<void> {
  const partitions = [...s.consumed.entries()].map(([partition, next]) => ({
    partition,
    offset: String(Math.min(next, s.reassembly.firstHeldOffset(partition) ?? next)),
  }));
  if (partitions.length === 0) return;
  await tx.sendOffsets({
    consumerGroupId: coordinatorGroupId(s.jobId),
    topics: [{ topic: topicName(s.jobId, 'updates'), partitions }],
  });
}

/**
 * Sends a step's records in requests of up to MAX_SEND_BYTES; returns the offsets the records on
 * `offsetsTopic` were written at. A request acknowledged without one of its topics throws
 * TRIB_SEND_INCOMPLETE: committing it would put a checkpoint past a model no reader ever sees
 * (kafkajs#1303), so the step aborts and the coordinator restarts from the last checkpoint instead.
 * Records that `soleWriter` tracks and that landed anywhere but where they had to go (written twice
 * by a retry) throw TRIB_SEND_DUPLICATED, to the same end.
 */
export async function sendStepRecords(
  tx: Pick<Transaction, 'sendBatch'>,
  outgoing: readonly TopicMessage[],
  offsetsTopic: string,
  soleWriter?: SoleWriterOffsets,
): Promise<number[]> {
  const offsets: number[] = [];
  for (const group of groupBySize(outgoing, (o) => messageBytes(o.message), MAX_SEND_BYTES)) {
    const written = await tx.sendBatch({ topicMessages: byTopic(group) });
    const counts = new Map<string, number>();
    for (const { topic } of group) counts.set(topic, (counts.get(topic) ?? 0) + 1);
    requireWritten(written, counts.keys());
    soleWriter?.written(written, counts);
    offsets.push(...offsetsOf(written, offsetsTopic, counts.get(offsetsTopic) ?? 0));
  }
  return offsets;
}

export interface TopicMessage {
  readonly topic: string;
  readonly message: Message;
}

/**
 * A step's new GlobalModel (`weights`: the model, or its served average) as records: chunk i of
 * every version under `<job>#i` (docs/topics.md).
 */
function modelMessages(step: CommitStep, s: StepState, weights: Float32Array): Message[] {
  const records = toRecords<GlobalModel>(
    {
      jobId: s.jobId,
      version: s.aggregator.version,
      manifest: {
        architectureId: s.layout.architectureId,
        tensorNames: s.layout.tensors.map((t) => t.name),
        shapes: s.layout.tensors.map((t) => [...t.shape]),
        dtypes: s.layout.tensors.map(() => 'FLOAT32' as const),
      },
      metrics: step.modelMetrics ?? {},
      foldedUpdateIds: step.foldedUpdateIds ?? [],
      publishedAtMs: s.now(),
    },
    splitFlat(s.layout, weights),
    s.config.modelEncoding,
    s.config.maxChunkBytes,
  );
  // Compaction keeps the newest record per key, so the newest version of every chunk.
  return records.map((r, i) => ({
    key: records.length === 1 ? s.jobId : `${s.jobId}#${i}`,
    value: s.serde.encode('GlobalModel', s.schemaIds.model, r),
  }));
}

/** Consecutive runs of one topic's messages, in order, as sendBatch takes them. */
export function byTopic(group: readonly TopicMessage[]): { topic: string; messages: Message[] }[] {
  const out: { topic: string; messages: Message[] }[] = [];
  for (const { topic, message } of group) {
    const last = out.at(-1);
    if (last?.topic === topic) last.messages.push(message);
    else out.push({ topic, messages: [message] });
  }
  return out;
}

/**
 * The offsets of `count` records sent to single-partition `topic` in one request: one record batch
 * per partition, so consecutive from the batch's base offset.
 */
export function offsetsOf(written: readonly RecordMetadata[], topic: string, count: number): number[] {
  if (count === 0) return [];
  const meta = written.filter((m) => m.topicName === topic);
  if (meta.length !== 1 || meta[0]?.baseOffset === undefined)
    throw new TributaryError(
      'TRIB_SEND_INCOMPLETE',
      `a step's write to ${topic} was acknowledged with ${meta.length} partitions, not 1`,
    );
  const base = Number(meta[0].baseOffset);
  return Array.from({ length: count }, (_, i) => base + i);
}
