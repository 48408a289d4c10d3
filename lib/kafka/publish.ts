/**
 * Publishing one logical message that may span several records (a chunked update or model) so
 * that a read_committed consumer sees all of it or none: several records go in one Kafka
 * transaction; a single record is already atomic, so it skips the transaction's extra round trips
 * (AddPartitionsToTxn, EndTxn and the commit marker).
 */
import type { Message, Producer } from 'kafkajs';

export interface AtomicPublisher {
  /** Idempotent producer for single records. */
  readonly plain: Producer;
  /** Transactional producer for multi-record messages. */
  readonly transactional: Producer;
}

export async function publishAtomically(
  publisher: AtomicPublisher,
  topic: string,
  messages: Message[],
): Promise<void> {
  if (messages.length === 1) {
    await publisher.plain.send({ topic, messages });
    return;
  }
  const tx = await publisher.transactional.transaction();
  try {
    await tx.send({ topic, messages });
    await tx.commit();
  } catch (error) {
    await tx.abort().catch(() => undefined);
    throw error;
  }
}
