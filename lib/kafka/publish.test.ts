import type { RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { groupBySize, requireWritten } from './publish.js';

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
});

describe('groupBySize', () => {
  it('keeps order, starts a group before the one that would pass the limit, and gives an oversized item its own', () => {
    expect(groupBySize([3, 3, 3, 10, 1], (n) => n, 6)).toEqual([[3, 3], [3], [10], [1]]);
    expect(groupBySize([], (n: number) => n, 6)).toEqual([]);
  });
});
