/**
 * Reading what a topic holds now (committed records only): every partition from a start offset up
 * to the end offsets taken when the read began. Transaction markers take offsets without delivering
 * records, so "caught up" is judged by the batches fetched (kafkajs reports marker batches too),
 * not by the records delivered; a quiet interval is only the fallback for a tail compaction emptied.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage, PartitionMetadata } from 'kafkajs';
import { TributaryError } from '../core/errors.js';
import { LARGE_RECORD_CONSUMER } from './client.js';

export interface ReadOptions {
  /** Start this many offsets before each partition's end (default: from the beginning). */
  readonly lastPerPartition?: number;
  /** Start at each partition's first record written at or after this time (ms). */
  readonly sinceMs?: number;
  /** Caught up after this long without a fetched batch, whatever the offsets (default 2 s). */
  readonly quietMs?: number;
  readonly timeoutMs?: number;
}

/**
 * Whether a Kafka client's error says that asking again may succeed: kafkajs's errors and
 * librdkafka's KafkaJS-style ones say `retriable`; librdkafka's own, which its KafkaJS-style
 * connect() passes on from init_transactions unconverted, say `isRetriable`.
 */
export function isRetriable(error: unknown): boolean {
  const said = error as { retriable?: unknown; isRetriable?: unknown } | null | undefined;
  return said?.retriable === true || said?.isRetriable === true;
}

/**
 * `ask`, asked again while the broker gives a retriable answer (for up to `timeoutMs`): right after
 * a topic is created its partitions can still answer "not the leader" for a moment, more so the
 * more of them there are (a fresh job's 32 task partitions on a busy broker).
 */
export async function settledAnswer<T>(ask: () => Promise<T>, timeoutMs = 30_000, pauseMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      if (!isRetriable(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/**
 * The partitions `topic`'s metadata lists, asked again (settledAnswer) while the answer is
 * retriable, lists none, or is kafkajs's TypeError for metadata it could not get: its
 * cluster.metadata() answers null when every broker's metadata request failed (mid leader
 * election), and fetchTopicMetadata then reads `topicMetadata` of null (tulios/kafkajs#549; a
 * worker died of it at start-up in CI).
 * Past `timeoutMs`, TRIB_METADATA_UNSETTLED (or the broker's own error).
 */
export function topicPartitionsSettled(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  topic: string,
  timeoutMs = 30_000,
  pauseMs = 200,
): Promise<PartitionMetadata[]> {
  const ask = async () => {
    const answer = await admin
      .fetchTopicMetadata({ topics: [topic] })
      .catch((error: unknown) => Promise.reject(unsettledMetadata(error, `topic ${topic}`)));
    const partitions = answer.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0)
      throw new TributaryError('TRIB_METADATA_UNSETTLED', `topic ${topic}: the metadata lists no partitions`);
    return partitions;
  };
  return settledAnswer(ask, timeoutMs, pauseMs);
}

/** The cluster's topic names, asked again as topicPartitionsSettled asks (listTopics meets the same race). */
export function topicNamesSettled(
  admin: Pick<Admin, 'listTopics'>,
  timeoutMs = 30_000,
  pauseMs = 200,
): Promise<string[]> {
  const ask = () =>
    admin
      .listTopics()
      .catch((error: unknown) => Promise.reject(unsettledMetadata(error, "the cluster's topics")));
  return settledAnswer(ask, timeoutMs, pauseMs);
}

/** kafkajs's TypeError for cluster metadata it answered as null, as TRIB_METADATA_UNSETTLED (retriable). */
function unsettledMetadata(error: unknown, what: string): unknown {
  if (!(error instanceof TypeError && error.message.includes('topicMetadata'))) return error;
  return new TributaryError('TRIB_METADATA_UNSETTLED', `${what}: no broker answered the metadata request`, {
    cause: error,
  });
}

/** The topic's offsets, asked again while the broker's answer is retriable (settledAnswer). */
export function fetchOffsetsSettled(
  admin: Admin,
  topic: string,
  timeoutMs = 30_000,
): Promise<{ partition: number; offset: string; high: string; low: string }[]> {
  return settledAnswer(() => admin.fetchTopicOffsets(topic), timeoutMs);
}

/**
 * Seeks `consumer` to `offsets()` (asked at each join) each time it joins its group, before its
 * first fetch; register before `run()`. Seeking right after `run()` races the join: a consumer that
 * crashed joining (a group coordinator still loading, on a fresh broker) restarts without its
 * group, and kafkajs throws on the seek ("Consumer group was not initialized") — a coordinator died
 * of that at start-up.
 */
export function seekOnEveryJoin(
  consumer: Consumer,
  topic: string,
  offsets: () => readonly { partition: number; offset: string }[],
): void {
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const { partition, offset } of offsets()) consumer.seek({ topic, partition, offset });
  });
}

/**
 * Where a consumer reads each partition of `topic`, and how far its fetches have reached since:
 * the highest offset of any batch fetched, transaction markers included. Reading (re)starts at
 * the set offsets on every group join. After a seek back, batches count only once one starts below
 * where the previous reading started (a batch fetched before the seek may still be reported).
 */
export class ReadPosition {
  private readonly start = new Map<number, number>();
  private readonly through = new Map<number, number>();
  private readonly countFromBelow = new Map<number, number>();
  private lastFetchMs: number;
  /** When each broker's fetch in flight began, and when the last one answered had begun. */
  private readonly fetchBegan = new Map<number, number>();
  private answeredFetchBeganMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly consumer: Consumer,
    private readonly topic: string,
    private readonly now: () => number = Date.now,
  ) {
    this.lastFetchMs = now();
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic) return;
      this.lastFetchMs = this.now();
      const first = Number(payload.firstOffset ?? payload.lastOffset);
      if (first >= (this.countFromBelow.get(payload.partition) ?? Number.POSITIVE_INFINITY)) return;
      this.countFromBelow.delete(payload.partition);
      this.through.set(
        payload.partition,
        Math.max(this.reached(payload.partition), Number(payload.lastOffset)),
      );
    });
    consumer.on(consumer.events.FETCH_START, ({ payload }) => {
      this.fetchBegan.set(payload.nodeId, this.now());
    });
    // Emitted only for a fetch the broker answered: one that failed (its leader died, the
    // consumer is still joining) never makes a read quiet.
    consumer.on(consumer.events.FETCH, ({ payload }) => {
      const began = this.fetchBegan.get(payload.nodeId);
      if (began !== undefined) this.answeredFetchBeganMs = Math.max(this.answeredFetchBeganMs, began);
    });
    seekOnEveryJoin(consumer, topic, () =>
      [...this.start].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    );
  }

  /** Where `partition` is read from at the next join; before `run()`. */
  startAt(partition: number, offset: number): void {
    this.start.set(partition, offset);
  }

  /** Reads `partition` from `offset` now (and on later joins); its progress starts again. */
  seek(partition: number, offset: number): void {
    const previous = this.start.get(partition);
    if (previous !== undefined) this.countFromBelow.set(partition, previous);
    this.through.delete(partition);
    this.start.set(partition, offset);
    this.lastFetchMs = this.now();
    this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
  }

  /** The highest offset fetched from `partition` since its last seek; -1 before any. */
  reached(partition: number): number {
    return this.through.get(partition) ?? -1;
  }

  /** Every offset below `end` of `partition` has been fetched. */
  caughtUp(partition: number, end: number): boolean {
    return this.reached(partition) >= end - 1;
  }

  /**
   * No batch fetched (and no seek) for `ms`, and a fetch begun since the last of them was answered
   * with nothing: nothing is left to read below the last stable offset. Time alone is not enough: a
   * consumer whose group's coordinator or partition's leader is on a dead node fetches nothing
   * for as long, and a checkpoint read that took that for the end found no checkpoint, or an
   * older one.
   */
  quietFor(ms: number): boolean {
    return this.now() - this.lastFetchMs >= ms && this.answeredFetchBeganMs >= this.lastFetchMs;
  }
}

export async function readTopicNow(
  kafka: Kafka,
  topic: string,
  options: ReadOptions = {},
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; offset: string; low: string }[];
  // kafkajs answers a partition with nothing written since with its end.
  let since = new Map<number, number>();
  try {
    ends = await fetchOffsetsSettled(admin, topic);
    const { sinceMs } = options;
    if (sinceMs !== undefined) {
      const offsets = await settledAnswer(() => admin.fetchTopicOffsetsByTimestamp(topic, sinceMs));
      since = new Map(offsets.map(({ partition, offset }) => [partition, Number(offset)]));
    }
  } finally {
    await admin.disconnect();
  }
  const pending = ends
    .map((e) => ({
      partition: e.partition,
      end: Number(e.offset),
      low: Math.max(Number(e.low), since.get(e.partition) ?? Number(e.low)),
    }))
    .filter((e) => e.end > e.low);
  if (pending.length === 0) return [];
  const consumer = kafka.consumer({
    // Unique per read: readers sharing a group would split each other's partitions.
    groupId: `tributary-reader-${randomUUID()}`,
    readUncommitted: false,
    // Also bounds how long disconnecting waits for a fetch in flight (the default is 5 s).
    maxWaitTimeInMs: 100,
    ...LARGE_RECORD_CONSUMER,
  });
  const position = new ReadPosition(consumer, topic);
  for (const { partition, end, low } of pending)
    position.startAt(
      partition,
      options.lastPerPartition === undefined ? low : Math.max(low, end - options.lastPerPartition),
    );
  const endOf = new Map(pending.map((e) => [e.partition, e.end]));
  // By position: a rejoin seeks back to the start (seekOnEveryJoin), and what is read again
  // replaces what was read, rather than reading as a second record.
  const out = new Map<string, { partition: number; message: KafkaMessage }>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: from, partition, message }) => {
        const end = endOf.get(partition);
        // Past the end: written after the read began.
        if (from === topic && end !== undefined && Number(message.offset) < end)
          out.set(`${partition}@${message.offset}`, { partition, message });
      },
    });
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const quietMs = options.quietMs ?? 2000;
    const done = () =>
      pending.every(({ partition, end }) => position.caughtUp(partition, end)) ||
      (pending.some(({ partition }) => position.reached(partition) >= 0) && position.quietFor(quietMs));
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await consumer.disconnect();
  }
  return [...out.values()];
}
