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

/** Anything a Renewal can hold: a client that connects and disconnects. */
export interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The current client of `create()`, connected on first use; `retire(client)` after a failure makes
 * the next use get a new one. Shared by kafkajs's producer (below) and librdkafka's
 * (./librdkafka.ts).
 */
export class Renewal<P extends Connectable> {
  private current: P;
  private connecting: Promise<void> | null = null;
  private closed = false;

  /**
   * `reconnects`: whether a client whose connect failed may connect again (kafkajs's may; the
   * librdkafka client's connect() can be called once, so a failed one is replaced).
   */
  constructor(
    private readonly create: () => P,
    private readonly onRenew?: (error: unknown) => void,
    private readonly reconnects = true,
  ) {
    this.current = create();
  }

  get client(): P {
    return this.current;
  }

  /** The current client, connected. A failed connect is tried again at the next use, not remembered. */
  async ready(): Promise<P> {
    if (this.closed) throw new Error('the producer was disconnected');
    const client = this.current;
    this.connecting ??= client.connect().catch((error: unknown) => {
      if (!this.reconnects) this.retire(client, error);
      else if (client === this.current) this.connecting = null;
      throw error;
    });
    await this.connecting;
    return client;
  }

  /** Retires `failed` if it is still the current client (several failures renew once). */
  retire(failed: P, error: unknown): void {
    if (failed !== this.current || this.closed) return;
    this.current = this.create();
    this.connecting = null;
    this.onRenew?.(error);
    void failed.disconnect().catch(() => undefined);
  }

  /** Runs `work` on the current client and retires it if `work` fails. */
  async use<T>(work: (client: P) => Promise<T>): Promise<T> {
    const client = await this.ready();
    try {
      return await work(client);
    } catch (error) {
      this.retire(client, error);
      throw error;
    }
  }

  async open(): Promise<void> {
    this.closed = false;
    await this.ready();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.current.disconnect();
  }
}

/**
 * `create()`'s producer behind kafkajs's Producer interface; after a failed send, sendBatch,
 * transaction start or commit (or the abort of a transaction in which something failed), the next
 * call goes to a new one from `create()`, connected on first use. `onRenew` hears each renewal;
 * `reconnects` as for Renewal (false for librdkafka's, ./librdkafka-transactions.ts).
 */
export function renewingProducer(
  create: ProducerFactory,
  onRenew?: (error: unknown) => void,
  reconnects = true,
): Producer {
  const renewal = new Renewal(create, onRenew, reconnects);
  const retire = (failed: Producer, error: unknown) => renewal.retire(failed, error);

  const transaction = async (): Promise<Transaction> => {
    const producer = await renewal.ready();
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
    connect: () => renewal.open(),
    disconnect: () => renewal.close(),
    send: (record) => renewal.use((p) => p.send(record)),
    sendBatch: (batch) => renewal.use((p) => p.sendBatch(batch)),
    transaction,
    isIdempotent: () => renewal.client.isIdempotent(),
    get events() {
      return renewal.client.events;
    },
    on: (...args: Parameters<Producer['on']>) => renewal.client.on(...args),
    logger: () => renewal.client.logger(),
  } as Producer;
}
