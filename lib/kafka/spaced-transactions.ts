/**
 * A transactional producer whose next transaction begins no sooner than `gapMs` after the last one
 * ended. Kafka writes a transaction's markers after it has acknowledged the commit (or abort), and
 * until they are written it answers the same transactional id's next AddPartitionsToTxn or
 * AddOffsetsToTxn with CONCURRENT_TRANSACTIONS, which both clients ask again about only after a
 * backoff: kafkajs its retry's (100 ms and more here, lib/kafka/client.ts), librdkafka 20 ms for
 * partitions and retry.backoff.ms for offsets (./librdkafka-transactions.ts). 4-KB steps back to
 * back (`bench step`, one broker), begun at once against 5 ms after the last commit: kafkajs 6.7 ms
 * at the median, 115 at p90, against 9.3 and 13; librdkafka 6.5 and 8.9 (p99 29) against 8.0 and
 * 9.2 (p99 19). A coordinator whose steps end 5 ms or more apart never waits.
 */
import type { Producer, Transaction } from 'kafkajs';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function spacedTransactions(
  producer: Producer,
  gapMs: number,
  clock: () => number = () => performance.now(),
): Producer {
  let endedAtMs = -Infinity;
  const ended = () => void (endedAtMs = clock());
  const transaction = async (): Promise<Transaction> => {
    const waitMs = endedAtMs + gapMs - clock();
    if (waitMs > 0) await sleep(waitMs);
    const tx = await producer.transaction();
    return {
      ...tx,
      // Ended however it settles: a failed commit or abort may still have reached the broker.
      commit: () => tx.commit().finally(ended),
      abort: () => tx.abort().finally(ended),
    };
  };
  return new Proxy(producer, {
    get: (target, key, receiver) =>
      key === 'transaction' ? transaction : Reflect.get(target, key, receiver),
  });
}
