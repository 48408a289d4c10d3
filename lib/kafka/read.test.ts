import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  isRetriable,
  ReadPosition,
  readTopicNow,
  settledAnswer,
  topicNamesSettled,
  topicPartitionsSettled,
} from './read.js';

/** The two consumer events ReadPosition listens to, and the seeks it makes. */
function consumerDouble() {
  const listeners = new Map<string, ((event: { payload: unknown }) => void)[]>();
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  const events = {
    END_BATCH_PROCESS: 'end-batch',
    GROUP_JOIN: 'join',
    FETCH_START: 'fetch-start',
    FETCH: 'fetch',
  };
  const consumer = {
    events,
    on: (name: string, listener: (event: { payload: unknown }) => void) => {
      listeners.set(name, [...(listeners.get(name) ?? []), listener]);
      return () => undefined;
    },
    seek: (s: { topic: string; partition: number; offset: string }) => void seeks.push(s),
  } as unknown as Consumer;
  const emit = (name: string, payload: unknown) => listeners.get(name)?.forEach((l) => l({ payload }));
  return {
    consumer,
    seeks,
    batch: (topic: string, partition: number, firstOffset: number | null, lastOffset: number) =>
      emit(events.END_BATCH_PROCESS, {
        topic,
        partition,
        firstOffset: firstOffset === null ? null : String(firstOffset),
        lastOffset: String(lastOffset),
      }),
    join: () => emit(events.GROUP_JOIN, {}),
    fetchStart: (nodeId: number) => emit(events.FETCH_START, { nodeId }),
    fetched: (nodeId: number) => emit(events.FETCH, { nodeId }),
  };
}

describe('ReadPosition', () => {
  it('is caught up once a fetched batch, transaction markers included, reaches the end offset', () => {
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't');
    expect(position.reached(0)).toBe(-1);
    c.batch('t', 0, 0, 9);
    expect(position.caughtUp(0, 11)).toBe(false);
    c.batch('t', 0, 10, 10); // a commit marker's batch: no record delivered
    expect(position.caughtUp(0, 11)).toBe(true);
    expect(position.caughtUp(1, 1)).toBe(false);
  });

  it("ignores other topics' batches and never moves backwards", () => {
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't');
    c.batch('other', 0, 0, 100);
    expect(position.reached(0)).toBe(-1);
    c.batch('t', 0, 0, 50);
    c.batch('t', 0, 0, 20);
    expect(position.reached(0)).toBe(50);
  });

  it('seeks every partition to its start on every join', () => {
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't');
    position.startAt(0, 5);
    position.startAt(3, 0);
    c.join();
    c.join();
    expect(c.seeks).toEqual([
      { topic: 't', partition: 0, offset: '5' },
      { topic: 't', partition: 3, offset: '0' },
      { topic: 't', partition: 0, offset: '5' },
      { topic: 't', partition: 3, offset: '0' },
    ]);
  });

  it('after a seek back, counts batches only once one starts below where reading started', () => {
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't');
    position.startAt(0, 92);
    c.batch('t', 0, 92, 99);
    expect(position.caughtUp(0, 100)).toBe(true);
    position.seek(0, 68);
    expect(c.seeks.at(-1)).toEqual({ topic: 't', partition: 0, offset: '68' });
    expect(position.reached(0)).toBe(-1);
    c.batch('t', 0, 92, 99); // fetched before the seek, reported after it
    expect(position.reached(0)).toBe(-1);
    c.batch('t', 0, 68, 80);
    expect(position.reached(0)).toBe(80);
    c.batch('t', 0, 81, 99);
    expect(position.caughtUp(0, 100)).toBe(true);
    c.join(); // a rejoin reads from the new start
    expect(c.seeks.at(-1)).toEqual({ topic: 't', partition: 0, offset: '68' });
  });

  it('takes a batch without a first offset by its last', () => {
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't');
    c.batch('t', 2, null, 7);
    expect(position.reached(2)).toBe(7);
  });

  it('is quiet after the given time without a batch or a seek, once a fetch begun since is answered', () => {
    let clock = 1000;
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't', () => clock);
    clock += 5000;
    expect(position.quietFor(2000)).toBe(false); // still joining: nothing was asked
    c.fetchStart(1);
    clock += 10;
    c.fetched(1);
    expect(position.quietFor(2000)).toBe(true); // asked since, and answered with nothing
    c.batch('t', 0, 0, 1);
    clock += 1999;
    c.fetchStart(2);
    c.fetched(2);
    expect(position.quietFor(2000)).toBe(false); // too soon after the batch
    clock += 2500;
    expect(position.quietFor(2000)).toBe(true);
    c.batch('t', 0, 2, 2);
    clock += 2500;
    expect(position.quietFor(2000)).toBe(false); // a batch since the last answered fetch began
    c.fetchStart(2);
    clock += 1;
    c.fetched(2);
    expect(position.quietFor(2000)).toBe(true);
    position.seek(0, 0);
    clock += 2500;
    c.fetchStart(2); // the leader died: this fetch is never answered
    expect(position.quietFor(2000)).toBe(false);
  });

  it('counts an answer only from the broker whose fetch began after the last batch', () => {
    let clock = 0;
    const c = consumerDouble();
    const position = new ReadPosition(c.consumer, 't', () => clock);
    c.fetchStart(1); // begun before the batch, answered after it
    clock += 5;
    c.batch('t', 0, 0, 3);
    clock += 5;
    c.fetchStart(2); // begun after, never answered
    c.fetched(1);
    clock += 3000;
    expect(position.quietFor(2000)).toBe(false);
  });
});

describe('readTopicNow', () => {
  it('gives each record once when a rejoin makes the consumer read from the start again', async () => {
    const topic = 't';
    const double = consumerDouble();
    const message = (offset: number) =>
      ({ offset: String(offset), value: Buffer.from([offset]) }) as KafkaMessage;
    const consumer = {
      ...double.consumer,
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      run: async ({ eachMessage }: { eachMessage: (p: unknown) => Promise<void> }) => {
        const deliver = async (offsets: number[]) => {
          for (const offset of offsets) await eachMessage({ topic, partition: 0, message: message(offset) });
          double.batch(topic, 0, offsets[0] ?? 0, offsets.at(-1) ?? 0);
        };
        setTimeout(() => {
          void (async () => {
            double.join();
            await deliver([0, 1]);
            double.join(); // the group coordinator moved: read again from the start
            await deliver([0, 1, 2]);
          })();
        }, 0);
      },
    } as unknown as Consumer;
    const kafka = {
      admin: () => ({
        connect: async () => undefined,
        disconnect: async () => undefined,
        fetchTopicOffsets: async () => [{ partition: 0, offset: '3', high: '3', low: '0' }],
      }),
      consumer: () => consumer,
    } as unknown as Kafka;
    const read = await readTopicNow(kafka, topic, { timeoutMs: 5000 });
    expect(read.map((r) => r.message.offset)).toEqual(['0', '1', '2']);
    expect(double.seeks.map((s) => s.offset)).toEqual(['0', '0']);
  });
});

describe('settledAnswer', () => {
  const retriable = Object.assign(new Error('This server is not the leader for that topic-partition'), {
    retriable: true,
  });

  it('asks again while the answer is retriable, and returns the first real one', async () => {
    let asked = 0;
    const answer = await settledAnswer(
      async () => {
        asked += 1;
        if (asked < 3) throw retriable;
        return 'offsets';
      },
      5_000,
      1,
    );
    expect(answer).toBe('offsets');
    expect(asked).toBe(3);
  });

  it('gives up at once on an answer that is not retriable, and after its time on one that is', async () => {
    let asked = 0;
    const fatal = new Error('Topic authorization failed');
    await expect(
      settledAnswer(async () => {
        asked += 1;
        throw fatal;
      }),
    ).rejects.toBe(fatal);
    expect(asked).toBe(1);
    const startedAt = Date.now();
    await expect(settledAnswer(async () => Promise.reject(retriable), 50, 5)).rejects.toBe(retriable);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(50);
  });
});

describe('isRetriable', () => {
  it("reads kafkajs's `retriable` and librdkafka's own `isRetriable`, and nothing else", () => {
    const error = (said: object) => Object.assign(new Error('an answer'), said);
    expect(isRetriable(error({ retriable: true }))).toBe(true);
    expect(isRetriable(error({ isRetriable: true, code: -185 }))).toBe(true);
    expect(isRetriable(error({ retriable: false, isRetriable: false }))).toBe(false);
    // A truthy value that is not `true` is no promise that asking again may succeed.
    expect(isRetriable(error({ retriable: 'yes', isRetriable: 1 }))).toBe(false);
    expect(isRetriable(new Error('Topic authorization failed'))).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
    expect(isRetriable(null)).toBe(false);
    expect(isRetriable('retriable')).toBe(false);
  });
});

describe('topicPartitionsSettled', () => {
  const partition = (partitionId: number) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  });
  /** A fetchTopicMetadata that gives `answers` in turn (an Error is thrown), then the last again. */
  const admin = (answers: readonly (Error | ReturnType<typeof partition>[])[]) => {
    let asked = 0;
    return {
      get asked() {
        return asked;
      },
      fetchTopicMetadata: async () => {
        const answer = answers[Math.min(asked++, answers.length - 1)];
        if (answer instanceof Error) throw answer;
        return { topics: [{ name: 't', partitions: answer ?? [] }] };
      },
    };
  };

  it("asks again through kafkajs's dropped metadata, a retriable answer and an empty list, then gives the partitions", async () => {
    const dropped = new TypeError("Cannot read properties of null (reading 'topicMetadata')");
    const election = Object.assign(new Error('There is no leader for this topic-partition'), {
      retriable: true,
    });
    const cluster = admin([dropped, election, [], [partition(0), partition(1)]]);
    const partitions = await topicPartitionsSettled(cluster, 't', 5_000, 1);
    expect(partitions.map((p) => p.partitionId)).toEqual([0, 1]);
    expect(cluster.asked).toBe(4);
  });

  it('gives up at once on any other error, and with TRIB_METADATA_UNSETTLED once its time is out', async () => {
    const denied = new Error('Topic authorization failed');
    const refusing = admin([denied]);
    await expect(topicPartitionsSettled(refusing, 't', 5_000, 1)).rejects.toBe(denied);
    expect(refusing.asked).toBe(1);
    const other = new TypeError('x is not a function');
    await expect(topicPartitionsSettled(admin([other]), 't', 5_000, 1)).rejects.toBe(other);
    await expect(topicPartitionsSettled(admin([[]]), 't', 30, 5)).rejects.toMatchObject({
      code: 'TRIB_METADATA_UNSETTLED',
      retriable: true,
    });
  });
});

describe('topicNamesSettled', () => {
  it("asks again through kafkajs's dropped metadata, and passes any other error on at once", async () => {
    let asked = 0;
    const cluster = {
      listTopics: async () => {
        asked += 1;
        if (asked === 1)
          throw new TypeError(
            "Cannot destructure property 'topicMetadata' of '(intermediate value)' as it is null.",
          );
        return ['tributary.j.models'];
      },
    };
    await expect(topicNamesSettled(cluster, 5_000, 1)).resolves.toEqual(['tributary.j.models']);
    expect(asked).toBe(2);
    const denied = new Error('Cluster authorization failed');
    await expect(topicNamesSettled({ listTopics: () => Promise.reject(denied) }, 5_000, 1)).rejects.toBe(
      denied,
    );
  });
});
