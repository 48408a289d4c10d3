import type { ProducerRecord, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionOfKey } from './keyed-partitions.js';
import { groupBySize, requireWritten, sendKeyed } from './publish.js';

const meta = (topicName: string, partition = 0): RecordMetadata => ({
  topicName,
  partition,
  errorCode: 0,
  baseOffset: '0',
});

describe('requireWritten', () => {
  it('accepts an answer that names every topic sent to, however often each was named', () => {
    expect(() =>
      requireWritten([meta('models'), meta('checkpoints')], ['models', 'checkpoints', 'models']),
    ).not.toThrow();
    expect(() => requireWritten([], [])).not.toThrow();
  });

  it('refuses an answer lacking a topic, naming each one missing', () => {
    const refusal = (() => {
      try {
        requireWritten([meta('checkpoints')], ['models', 'checkpoints', 'rejected']);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toMatchObject({ code: 'TRIB_SEND_INCOMPLETE' });
    expect((refusal as Error).message).toMatch(/without writing to models, rejected/);
    expect(() => requireWritten([], ['models'])).toThrow(/models/);
  });

  it('refuses an answer naming a partition twice: its records were written twice', () => {
    const answer = [meta('models'), meta('checkpoints'), meta('models')];
    expect(() => requireWritten(answer, ['models', 'checkpoints'])).toThrow(
      expect.objectContaining({
        code: 'TRIB_SEND_DUPLICATED',
        message: expect.stringMatching(/models\[0\]/),
      }),
    );
    // Two partitions of one topic, each once, are no duplicate.
    expect(() => requireWritten([meta('tasks', 0), meta('tasks', 1)], ['tasks'])).not.toThrow();
  });
});

describe('groupBySize', () => {
  it('keeps order, starts a group before the one that would pass the limit, and gives an oversized item its own', () => {
    expect(groupBySize([3, 3, 3, 10, 1], (n) => n, 6)).toEqual([[3, 3], [3], [10], [1]]);
    expect(groupBySize([], (n: number) => n, 6)).toEqual([]);
  });
});

describe('sendKeyed', () => {
  const records = Array.from({ length: 12 }, (_, i) => ({ key: `w${i}`, value: Buffer.from(`t${i}`) }));
  /** A producer whose answers leave out the partitions `dropped` names for each send, in turn. */
  const producer = (dropped: number[][]) => {
    const sends: ProducerRecord[] = [];
    return {
      sends,
      send: async (record: ProducerRecord) => {
        const leftOut = dropped[sends.length] ?? [];
        sends.push(record);
        const partitions = new Set(record.messages.map((m) => m.partition ?? -1));
        return [...partitions].filter((p) => !leftOut.includes(p)).map((p) => meta(record.topic, p));
      },
    };
  };

  it("sends each record to its key's partition, once when every partition is answered", async () => {
    const p = producer([]);
    expect(await sendKeyed(p, 'tasks', records, 4)).toBe(1);
    expect(p.sends[0]?.messages.map((m) => m.partition)).toEqual(
      records.map((r) => partitionOfKey(r.key, 4)),
    );
  });

  it('sends again only the records of the partitions an answer left out', async () => {
    const p = producer([[0, 2], [2]]);
    expect(await sendKeyed(p, 'tasks', records, 4)).toBe(3);
    const keysOf = (i: number) => p.sends[i]?.messages.map((m) => m.key);
    const on = (partitions: number[]) =>
      records.filter((r) => partitions.includes(partitionOfKey(r.key, 4))).map((r) => r.key);
    expect(keysOf(1)).toEqual(on([0, 2]));
    expect(keysOf(2)).toEqual(on([2]));
  });

  it('gives up with TRIB_SEND_INCOMPLETE, naming the partitions never answered', async () => {
    const p = producer([[1], [1], [1]]);
    await expect(sendKeyed(p, 'tasks', records, 4)).rejects.toMatchObject({
      code: 'TRIB_SEND_INCOMPLETE',
      message: expect.stringMatching(/without partitions 1$/),
    });
    expect(p.sends).toHaveLength(3);
  });
});
