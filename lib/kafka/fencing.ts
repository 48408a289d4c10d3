/**
 * Taking a transactional id over at start-up, not at the first commit.
 *
 * kafkajs's connect() does not register a transactional producer's id with its transaction
 * coordinator: it asks for a plain idempotent producer id, and sends InitProducerId with the
 * transactional id only when the first transaction begins. Until then a predecessor with the same
 * id (a killed or abandoned coordinator, a replaced worker) is not fenced: a step it still holds
 * open can commit after its successor has read the state that step changes: the successor then
 * folds that step's updates again and commits the same version twice (what a CI run's three-brokers
 * audit found after an in-process restart). librdkafka's connect() already initialises the id
 * (./librdkafka-transactions.ts).
 */
import type { Producer } from 'kafkajs';

/**
 * Begins and aborts an empty transaction on `producer` (connected), which makes kafkajs send
 * InitProducerId with the transactional id: the predecessor's epoch is fenced, and its open
 * transaction is ended (one whose commit had reached the coordinator is completed, the rest
 * aborted) before this returns, so every offset it wrote below the topics' ends is decided. An
 * empty transaction's abort sends nothing (no partition was added).
 */
export async function claimTransactionalId(producer: Producer): Promise<void> {
  const tx = await producer.transaction();
  await tx.abort();
}
