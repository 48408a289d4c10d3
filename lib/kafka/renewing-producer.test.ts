import { describe, expect, it } from 'vitest';
import { createKafka, RETRY_LIMIT_WARNING } from './client.js';
import type { Logger } from '../log.js';
import { Renewal, renewingProducer } from './renewing-producer.js';
import type { Producer, RecordMetadata, Transaction } from 'kafkajs';

/** A stand-in for kafkajs's producer: records what was asked of it, fails when told to. */
class FakeProducer {
  static made: FakeProducer[] = [];
  connected = 0;
  disconnected = 0;
  sent: string[] = [];
  failNext = false;
  txFailNext = false;
  aborted = 0;
  committed = 0;
  constructor(readonly id: number) {
    FakeProducer.made.push(this);
  }
  connect = async () => void (this.connected += 1);
  disconnect = async () => void (this.disconnected += 1);
  send = async ({ messages }: { messages: { value: string }[] }): Promise<RecordMetadata[]> => {
    if (this.connected === 0) throw new Error('not connected');
    if (this.failNext) {
      this.failNext = false;
      throw new Error('request timed out');
    }
    this.sent.push(...messages.map((m) => m.value));
    return [];
  };
  sendBatch = this.send;
  transaction = async (): Promise<Transaction> =>
    ({
      send: async ({ messages }: { messages: { value: string }[] }) => {
        if (this.txFailNext) throw new Error('request timed out');
        this.sent.push(...messages.map((m) => `tx:${m.value}`));
        return [];
      },
      sendBatch: async () => [],
      sendOffsets: async () => undefined,
      commit: async () => void (this.committed += 1),
      abort: async () => void (this.aborted += 1),
      isActive: () => true,
    }) as unknown as Transaction;
  isIdempotent = () => true;
}

const fresh = () => {
  FakeProducer.made = [];
  const renewals: unknown[] = [];
  const producer = renewingProducer(
    () => new FakeProducer(FakeProducer.made.length) as unknown as Producer,
    (e) => renewals.push(e),
  );
  return { producer, renewals, made: () => FakeProducer.made };
};
const record = (value: string) => ({ topic: 't', messages: [{ value }] });

describe('renewingProducer', () => {
  it('keeps one producer while sends succeed, connecting it once', async () => {
    const { producer, made, renewals } = fresh();
    await producer.connect();
    await producer.send(record('a'));
    await producer.send(record('b'));
    expect(made()).toHaveLength(1);
    expect(made()[0]?.connected).toBe(1);
    expect(made()[0]?.sent).toEqual(['a', 'b']);
    expect(renewals).toHaveLength(0);
  });

  it('never sends again through a producer whose send failed: the next goes to a new, connected one', async () => {
    const { producer, made, renewals } = fresh();
    await producer.connect();
    (made()[0] as FakeProducer).failNext = true;
    await expect(producer.send(record('lost?'))).rejects.toThrow('request timed out');
    expect(made()[0]?.disconnected).toBe(1);
    await producer.send(record('next'));
    expect(made()).toHaveLength(2);
    expect(made()[1]?.connected).toBe(1);
    expect(made()[1]?.sent).toEqual(['next']);
    expect(made()[0]?.sent).toEqual([]);
    expect(renewals).toHaveLength(1);
  });

  it('renews after a transaction in which a send failed is aborted, not after a clean one', async () => {
    const { producer, made } = fresh();
    await producer.connect();
    const ok = await producer.transaction();
    await ok.send(record('x'));
    await ok.commit();
    expect(made()).toHaveLength(1);
    (made()[0] as FakeProducer).txFailNext = true;
    const bad = await producer.transaction();
    await expect(bad.send(record('y'))).rejects.toThrow();
    await bad.abort();
    expect(made()[0]?.aborted).toBe(1);
    expect(made()[0]?.disconnected).toBe(1);
    const next = await producer.transaction();
    await next.send(record('z'));
    await next.commit();
    expect(made()).toHaveLength(2);
    expect(made()[1]?.sent).toEqual(['tx:z']);
  });

  it('tries a failed connect again at the next use instead of remembering the failure', async () => {
    const { producer, made } = fresh();
    const first = made()[0] as FakeProducer;
    let refusals = 1;
    const connect = first.connect;
    first.connect = async () => {
      if (refusals-- > 0) throw new Error('connection refused');
      await connect();
    };
    await expect(producer.connect()).rejects.toThrow('connection refused');
    await producer.send(record('after'));
    expect(first.sent).toEqual(['after']);
    expect(made()).toHaveLength(1);
  });

  it('renews once for several failures of the same producer, and not after disconnect()', async () => {
    const { producer, made, renewals } = fresh();
    await producer.connect();
    const first = made()[0] as FakeProducer;
    first.send = async () => {
      throw new Error('broker gone');
    };
    await Promise.allSettled([producer.send(record('a')), producer.send(record('b'))]);
    expect(renewals).toHaveLength(1);
    await producer.disconnect();
    await expect(producer.send(record('c'))).rejects.toThrow('disconnected');
    expect(made()).toHaveLength(2);
  });
});

describe('the client factory', () => {
  it("drops kafkajs's retry-limit warning (renewal makes it moot) and passes other warnings on", () => {
    const lines: { event: string; message?: unknown }[] = [];
    const capture = (level: string) => (event: string, fields?: Record<string, unknown>) =>
      lines.push({ event: `${level}:${event}`, message: fields?.message });
    const logger = {
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    } as unknown as Logger;
    const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'test', logger });
    kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); // kafkajs warns as it is made
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: 'x' });
    expect(lines.map((l) => l.message)).not.toContain(RETRY_LIMIT_WARNING);
    kafka.logger().warn('something else', {});
    expect(lines.map((l) => l.message)).toContain('something else');
  });
});

describe('Renewal of a client that connects only once (librdkafka)', () => {
  it('replaces a client whose connect failed, and the next use connects the new one', async () => {
    const made: FakeProducer[] = [];
    const renewals: unknown[] = [];
    const renewal = new Renewal(
      () => {
        const p = new FakeProducer(made.length);
        made.push(p);
        return p;
      },
      (error) => renewals.push(error),
      false,
    );
    const first = made[0] as FakeProducer;
    first.connect = async () => {
      throw new Error('connection refused');
    };
    await expect(renewal.ready()).rejects.toThrow('connection refused');
    expect(made).toHaveLength(2);
    expect(first.disconnected).toBe(1);
    expect(renewals).toHaveLength(1);
    expect(await renewal.ready()).toBe(made[1]);
    expect(made[1]?.connected).toBe(1);
  });
});
