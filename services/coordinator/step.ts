/**
 * One server step (or rejection batch) as one Kafka transaction: the waiting rejections, the new
 * GlobalModel after a server step (chunk i of every version keyed `<job>#i`, docs/topics.md), the
 * aggregator checkpoint with its replay cursor (./checkpoints.ts), and the consumer offsets of
 * everything handled, never past the first chunk of an update still held. All or nothing.
 */
import type { Producer } from 'kafkajs';
import type { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import { splitFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { serializeAggregator } from '../../lib/core/fedbuff/state.js';
import { failpoint } from '../../lib/failpoints.js';
import { groupBySize, MAX_SEND_BYTES, messageBytes } from '../../lib/kafka/publish.js';
import { topicName } from '../../lib/kafka/topics.js';
import { toRecords } from '../../lib/wire/records.js';
import type { GlobalModel } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import { writeCheckpoint } from './checkpoints.js';
import type { CoordinatorConfig } from './config.js';
import { encodeCursor } from './cursor.js';
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
  readonly now: () => number;
}

export async function writeStep(txProducer: Producer, step: CommitStep, s: StepState): Promise<void> {
  const tx = await txProducer.transaction();
  try {
    for (const group of s.rejections.groups())
      await tx.send({ topic: topicName(s.jobId, 'rejected'), messages: group });
    if (step.publishModel) {
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
        splitFlat(s.layout, s.aggregator.model),
        s.config.modelEncoding,
        s.config.maxChunkBytes,
      );
      // Chunk i of every version under `<job>#i` (docs/topics.md): compaction keeps the newest.
      const messages = records.map((r, i) => ({
        key: records.length === 1 ? s.jobId : `${s.jobId}#${i}`,
        value: s.serde.encode('GlobalModel', s.schemaIds.model, r),
      }));
      for (const group of groupBySize(messages, messageBytes, MAX_SEND_BYTES))
        await tx.send({ topic: topicName(s.jobId, 'models'), messages: group });
    }
    if (step.checkpoint) {
      await writeCheckpoint(
        tx,
        topicName(s.jobId, 'checkpoints'),
        s.jobId,
        serializeAggregator(s.aggregator),
        encodeCursor({ partitions: new Map(s.consumed), heldKeys: new Set(s.reassembly.heldKeys) }),
        s.config.maxChunkBytes,
      );
    }
    const partitions = [...s.consumed.entries()].map(([partition, next]) => ({
      partition,
      offset: String(Math.min(next, s.reassembly.firstHeldOffset(partition) ?? next)),
    }));
    if (partitions.length > 0) {
      await tx.sendOffsets({
        consumerGroupId: `tributary.${s.jobId}.coordinator`,
        topics: [{ topic: topicName(s.jobId, 'updates'), partitions }],
      });
    }
    failpoint(step.publishModel ? 'flush.before-commit' : 'reject.before-commit');
    await tx.commit();
    failpoint(step.publishModel ? 'flush.after-commit' : 'reject.after-commit');
    s.rejections.clear();
  } catch (error) {
    await tx.abort().catch(() => undefined);
    throw error;
  }
}
