/**
 * A producer that is never used again after a send whose outcome is unknown.
 *
 * Why: kafkajs numbers each partition's batches for the broker's duplicate check and, when a send
 * fails, rolls the numbers back, so the next send reuses them. If the failed batch did land (a
 * timeout after the broker wrote it), the broker takes the next, different batch for a duplicate of
 * it and acknowledges it without writing it: a record lost in silence. That is what kafkajs's
 * "Limiting retries for the idempotent producer may invalidate EoS guarantees" warns of, and it
 * holds with any retry limit, or none (an endless retry only trades it for a send that never ends).
 * Java's producer bumps its epoch in that case; this does the equivalent: the failed producer is
 * disconnected and a fresh one (a new producer id, or for a transactional id a new epoch that also
 * aborts what the old one left open) serves the next send. With that, a bounded retry is safe, and
 * the client factory silences the warning (lib/kafka/client.ts).
 */
import type { Producer, Transaction } from 'kafkajs';

export type ProducerFactory = () => Producer;

/**
 * `create()`'s producer behind kafkajs's Producer interface; after a failed send, sendBatch,
 * transaction start or commit (or the abort of a transaction in which something failed), the next
 * call goes to a new one from `create()`, connected on first use. `onRenew` hears each renewal.
 */
export function renewingProducer(create: ProducerFactory, onRenew?: (error: unknown) => void): Producer {
  let current = create();
  let connecting: Promise<void> | null = null;
  let closed = false;

  const ready = async (): Promise<Producer> => {
    if (closed) throw new Error('the producer was disconnected');
    const producer = current;
    // A failed connect is tried again at the next use, not remembered.
    connecting ??= producer.connect().catch((error: unknown) => {
      if (producer === current) connecting = null;
      throw error;
    });
    await connecting;
    return producer;
  };
  /** Retires `failed` if it is still the current producer (several failures renew once). */
  const retire = (failed: Producer, error: unknown): void => {
    if (failed !== current || closed) return;
    current = create();
    connecting = null;
    onRenew?.(error);
    void failed.disconnect().catch(() => undefined);
  };
  const guarded = async <T>(work: (producer: Producer) => Promise<T>): Promise<T> => {
    const producer = await ready();
    try {
      return await work(producer);
    } catch (error) {
      retire(producer, error);
      throw error;
    }
  };

  const transaction = async (): Promise<Transaction> => {
    const producer = await ready();
    let tx: Transaction;
    try {
      tx = await producer.transaction();
    } catch (error) {
      retire(producer, error);
      throw error;
    }
    let failed: unknown = null;
    const inside =
      <A extends unknown[], T>(f: (...args: A) => Promise<T>) =>
      async (...args: A): Promise<T> => {
        try {
          return await f(...args);
        } catch (error) {
          failed ??= error;
          throw error;
        }
      };
    return {
      ...tx,
      send: inside(tx.send.bind(tx)),
      sendBatch: inside(tx.sendBatch.bind(tx)),
      sendOffsets: inside(tx.sendOffsets.bind(tx)),
      isActive: () => tx.isActive(),
      commit: async () => {
        try {
          await tx.commit();
        } catch (error) {
          retire(producer, error);
          throw error;
        }
      },
      abort: async () => {
        try {
          await tx.abort();
        } catch (error) {
          failed ??= error;
          throw error;
        } finally {
          if (failed !== null) retire(producer, failed);
        }
      },
    };
  };

  return {
    connect: async () => {
      closed = false;
      await ready();
    },
    disconnect: async () => {
      closed = true;
      await current.disconnect();
    },
    send: (record) => guarded((p) => p.send(record)),
    sendBatch: (batch) => guarded((p) => p.sendBatch(batch)),
    transaction,
    isIdempotent: () => current.isIdempotent(),
    get events() {
      return current.events;
    },
    on: (...args: Parameters<Producer['on']>) => current.on(...args),
    logger: () => current.logger(),
  } as Producer;
}
