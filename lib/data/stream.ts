/**
 * A task's streamed data: the silo's own Kafka topics, read by a consumer group of the worker's own,
 * decoded (Avro with the silo's registered schema, or JSON), mapped to examples by the task and held
 * in a bounded RecordWindow. Training takes a snapshot of the window as it stands. A record that
 * fails to decode or map is counted and skipped with a log line; it never stops the stream.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../log.js';
import type { Tf } from '../ml/backend.js';
import { arrayBatches } from '../task/arrays.js';
import type { Batch, StreamDefinition, StreamRecordMeta, TaskConfig } from '../task/types.js';
import type { AvroSerde } from '../wire/serde.js';
import { RecordWindow, type WindowSnapshot, type WindowStats } from './window.js';

/** A JSON record larger than this is skipped unparsed. */
const MAX_JSON_BYTES = 1024 * 1024;

export interface StreamStats extends WindowStats {
  readonly consumed: number;
  readonly skippedDecode: number;
  readonly skippedMap: number;
  readonly skippedTooOld: number;
}

export class StreamSource<C extends TaskConfig = TaskConfig> {
  readonly window: RecordWindow;
  readonly topics: string[];
  private consumer: Consumer | undefined;
  private consumed = 0;
  private skippedDecode = 0;
  private skippedMap = 0;
  private skippedTooOld = 0;
  private readonly targetWidth: number;
  private readonly featureWidth: number;

  constructor(
    private readonly definition: StreamDefinition<C>,
    private readonly context: { silo: string; workerId: string; config: C },
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly groupId: string,
    private readonly log: Logger,
  ) {
    this.featureWidth = definition.featureShape.reduce((a, b) => a * b, 1);
    this.targetWidth = definition.classes === undefined ? (definition.targetWidth ?? 1) : 1;
    const seconds = definition.window.seconds;
    this.window = new RecordWindow(
      { maxRecords: definition.window.records, maxAgeMs: seconds === undefined ? null : seconds * 1000 },
      this.featureWidth,
      this.targetWidth,
    );
    this.topics = definition.topics(context);
  }

  async start(): Promise<void> {
    const start = this.definition.start ?? 'earliest';
    this.consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false });
    await this.consumer.connect();
    for (const topic of this.topics)
      await this.consumer.subscribe({ topic, fromBeginning: start !== 'latest' });
    const seekTo = typeof start === 'object' ? await this.timestampOffsets(start.fromMs) : [];
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachMessage: async ({ topic, partition, message }) => {
        this.consumed += 1;
        const meta: StreamRecordMeta = {
          topic,
          partition,
          offset: message.offset,
          timestampMs: Number(message.timestamp),
          key: message.key?.toString() ?? null,
        };
        this.accept(await this.decode(message.value, meta), meta);
      },
    });
    for (const s of seekTo) this.consumer.seek(s);
  }

  /** Offsets at `fromMs` for partitions this group has no committed position in (it resumes elsewhere). */
  private async timestampOffsets(
    fromMs: number,
  ): Promise<{ topic: string; partition: number; offset: string }[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const seeks: { topic: string; partition: number; offset: string }[] = [];
      const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: this.topics });
      for (const topic of this.topics) {
        const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, fromMs))
          if ((mine.find((m) => m.partition === p.partition)?.offset ?? '-1') === '-1')
            seeks.push({ topic, partition: p.partition, offset: p.offset });
      }
      return seeks;
    } finally {
      await admin.disconnect();
    }
  }

  private async decode(value: Buffer | null, meta: StreamRecordMeta): Promise<unknown> {
    try {
      if ((this.definition.format ?? 'avro') === 'avro') return await this.serde.decodeAny(value);
      if (!value || value.length > MAX_JSON_BYTES) throw new Error(value ? 'larger than 1 MiB' : 'no value');
      return JSON.parse(value.toString('utf8')) as unknown;
    } catch (error) {
      this.skip('decode', meta, error);
      return undefined;
    }
  }

  private accept(record: unknown, meta: StreamRecordMeta): void {
    if (record === undefined) return;
    try {
      const example = this.definition.map(record, meta, this.context.config);
      if (example === null) {
        this.skip('map', meta, 'map returned null');
        return;
      }
      const target = typeof example.target === 'number' ? [example.target] : example.target;
      const added = this.window.add(
        example.id ?? `${meta.topic}/${meta.partition}/${meta.offset}`,
        example.timestampMs ?? meta.timestampMs,
        example.features,
        target,
      );
      if (!added) this.skippedTooOld += 1;
    } catch (error) {
      this.skip('map', meta, error);
    }
  }

  private skip(stage: 'decode' | 'map', meta: StreamRecordMeta, error: unknown): void {
    const count = stage === 'decode' ? ++this.skippedDecode : ++this.skippedMap;
    // The first few in full, then one line per thousand: a bad topic must not flood the log.
    if (count <= 10 || count % 1000 === 0)
      this.log.warn('stream-record-skipped', {
        stage,
        count,
        topic: meta.topic,
        partition: meta.partition,
        offset: meta.offset,
        reason: error instanceof Error ? error.message.slice(0, 300) : String(error),
      });
  }

  stats(): StreamStats {
    return {
      ...this.window.stats(),
      consumed: this.consumed,
      skippedDecode: this.skippedDecode,
      skippedMap: this.skippedMap,
      skippedTooOld: this.skippedTooOld,
    };
  }

  /** The window as it stands, and its passes as batches (one snapshot for every epoch of a task). */
  batchesOf(tf: Tf, snapshot: WindowSnapshot): (batchSize: number, seed: number) => Generator<Batch> {
    const examples = {
      features: snapshot.features,
      featureShape: this.definition.featureShape,
      labels: snapshot.targets,
      ...(this.definition.classes === undefined
        ? { targetWidth: this.targetWidth }
        : { classes: this.definition.classes }),
    };
    return (batchSize, seed) => arrayBatches(tf, examples, { batchSize, seed });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
