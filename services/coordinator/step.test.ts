import type { RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { byTopic, offsetsOf } from './step.js';

const m = (key: string) => ({ key, value: Buffer.from(key) });

describe('byTopic', () => {
  it('groups consecutive messages of one topic and keeps their order', () => {
    const group = [
      { topic: 'models', message: m('j#0') },
      { topic: 'models', message: m('j#1') },
      { topic: 'checkpoints', message: m('j#0') },
      { topic: 'checkpoints', message: m('j#1') },
    ];
    expect(byTopic(group).map((t) => [t.topic, t.messages.map((x) => x.key)])).toEqual([
      ['models', ['j#0', 'j#1']],
      ['checkpoints', ['j#0', 'j#1']],
    ]);
    expect(byTopic([])).toEqual([]);
  });
});

describe('offsetsOf', () => {
  const meta = (topicName: string, baseOffset: string, partition = 0): RecordMetadata => ({
    topicName,
    partition,
    errorCode: 0,
    baseOffset,
  });

  it('counts up from the base offset of the one batch of the topic', () => {
    const written = [meta('models', '7'), meta('checkpoints', '40')];
    expect(offsetsOf(written, 'checkpoints', 3)).toEqual([40, 41, 42]);
    expect(offsetsOf(written, 'checkpoints', 0)).toEqual([]);
  });

  it('refuses an answer without the topic, or with several of its partitions', () => {
    expect(() => offsetsOf([meta('models', '7')], 'checkpoints', 1)).toThrow(
      /acknowledged with 0 partitions/,
    );
    expect(() =>
      offsetsOf([meta('checkpoints', '1'), meta('checkpoints', '9', 1)], 'checkpoints', 2),
    ).toThrow(/with 2 partitions/);
  });
});
