/**
 * Publishing one logical message that may span several records (a chunked update or model) so
 * that a read_committed consumer sees all of it or none: several records go in one Kafka
 * transaction; a single record is already atomic, so it skips the transaction's extra round trips
 * (AddPartitionsToTxn, EndTxn and the commit marker).
 */
import type { Message, Producer, RecordMetadata } from 'kafkajs';
import { TributaryError } from '../core/errors.js';
import { partitionOfKey } from './keyed-partitions.js';
import type { OutgoingRecord, RecordSender } from './sender.js';

/**
 * Bytes per send: one send becomes one record batch per partition, and the broker refuses a batch
 * over `message.max.bytes` (16 MiB on Tributary's topics), so large messages go in several sends.
 */
export const MAX_SEND_BYTES = 12 * 1024 * 1024;

/** `items` in order, in groups of at most `maxBytes` by `size` (an item larger than that goes alone). */
export function groupBySize<T>(items: readonly T[], size: (item: T) => number, maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export const messageBytes = (m: Message): number =>
  (m.value ? Buffer.byteLength(m.value as Buffer) : 0) + (m.key ? Buffer.byteLength(m.key as Buffer) : 0);

/**
 * kafkajs can resolve a send without writing all of it: a send to partitions led by two brokers
 * whose request to one broker fails (its leader died or moved) is retried only to brokers that have
 * not answered yet, so when the partition's new leader is the broker that already answered, its
 * records are never sent, and the answer simply lacks the partition (tulios/kafkajs#1303; seen here
 * with a node of the 3-node cluster killed, and reproduced in three-brokers.test.ts by moving a
 * leader). Throws TRIB_SEND_INCOMPLETE unless the answer names every one of `topics`: enough for
 * the single-partition topics this guards (a step's models and checkpoints, sent in one request).
 *
 * An answer that names one partition twice means its records were written twice, and a
 * transaction holding them must abort: TRIB_SEND_DUPLICATED (./sole-writer.ts has the other half
 * of that guard, and the CI run that called for it).
 */
export function requireWritten(written: readonly RecordMetadata[], topics: Iterable<string>): void {
  const answered = new Set(written.map((m) => m.topicName));
  const missing = [...new Set(topics)].filter((t) => !answered.has(t));
  if (missing.length > 0)
    throw new TributaryError(
      'TRIB_SEND_INCOMPLETE',
      `a send was acknowledged without writing to ${missing.join(', ')} (tulios/kafkajs#1303)`,
    );
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { topicName, partition } of written) {
    const key = `${topicName}[${partition}]`;
    if (seen.has(key)) twice.add(key);
    seen.add(key);
  }
  if (twice.size > 0)
    throw new TributaryError(
      'TRIB_SEND_DUPLICATED',
      `a send was acknowledged twice for ${[...twice].join(', ')}: the client wrote its records again`,
    );
}

/**
 * One record (or one partition's records) sent until the answer has them: a record with no metadata
 * in the answer was not written (as requireWritten explains), so it is sent again (a copy that did land would be
 * refused as a duplicate by its update id). Returns the sends it took.
 */
export async function sendOne(
  producer: Producer,
  topic: string,
  messages: Message[],
  attempts = 3,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const written = await producer.send({ topic, messages });
    if (written.some((m) => m.topicName === topic)) return attempt;
    if (attempt >= attempts)
      throw new TributaryError(
        'TRIB_SEND_INCOMPLETE',
        `${attempts} sends to ${topic} were acknowledged with nothing written`,
      );
  }
}

/**
 * Keyed records spread over a topic's `partitions` (a batch of tasks, one per worker), each sent to
 * its key's partition (Kafka's default partitioner) until an answer names that partition: the
 * records of a partition kafkajs left out (requireWritten) are sent again, never those it wrote.
 * Returns the sends it took; throws TRIB_SEND_INCOMPLETE after `attempts`.
 */
export async function sendKeyed(
  producer: Pick<Producer, 'send'>,
  topic: string,
  records: readonly OutgoingRecord[],
  partitions: number,
  attempts = 3,
): Promise<number> {
  let pending = records.map(({ key, value }) => ({ key, value, partition: partitionOfKey(key, partitions) }));
  for (let attempt = 1; ; attempt++) {
    const written = await producer.send({ topic, messages: pending });
    const answered = new Set(written.filter((m) => m.topicName === topic).map((m) => m.partition));
    pending = pending.filter((m) => !answered.has(m.partition));
    if (pending.length === 0) return attempt;
    if (attempt >= attempts)
      throw new TributaryError(
        'TRIB_SEND_INCOMPLETE',
        `${attempts} sends to ${topic} were acknowledged without partitions ${[
          ...new Set(pending.map((m) => m.partition)),
        ].join(', ')}`,
      );
  }
}

export interface AtomicPublisher {
  /** Idempotent sender for single records. */
  readonly plain: RecordSender;
  /** Transactional producer for multi-record messages, asked for only when one is sent. */
  readonly transactional: () => Promise<Producer>;
}

export async function publishAtomically(
  publisher: AtomicPublisher,
  topic: string,
  messages: OutgoingRecord[],
): Promise<void> {
  if (messages.length === 1) {
    await publisher.plain.send(topic, messages);
    return;
  }
  const tx = await (await publisher.transactional()).transaction();
  try {
    for (const group of groupBySize(messages, messageBytes, MAX_SEND_BYTES))
      await tx.send({ topic, messages: group });
    await tx.commit();
  } catch (error) {
    await tx.abort().catch(() => undefined);
    throw error;
  }
}
