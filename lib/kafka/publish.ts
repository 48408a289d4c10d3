/**
 * Publishing one logical message that may span several records (a chunked update or model) so
 * that a read_committed consumer sees all of it or none: several records go in one Kafka
 * transaction; a single record is already atomic, so it skips the transaction's extra round trips
 * (AddPartitionsToTxn, EndTxn and the commit marker).
 */
import type { Message, Producer } from 'kafkajs';
import { TributaryError } from '../core/errors.js';
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
 * kafkajs can resolve a send without writing it when the leader of its partition dies during the
 * send: the answer simply lacks the partition (tulios/kafkajs#1303, seen here with a node of the
 * 3-node cluster killed). A record with no metadata in the answer was not written, so it is sent
 * again (a copy that did land would be refused as a duplicate by its update id). Returns the sends
 * it took.
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
