/** SoleWriterOffsets: where a sole writer's records must land, step after step. */
import type { RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SoleWriterOffsets } from './sole-writer.js';

const at = (topicName: string, baseOffset: number): RecordMetadata => ({
  topicName,
  partition: 0,
  errorCode: 0,
  baseOffset: String(baseOffset),
});
const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('SoleWriterOffsets', () => {
  it('expects each step right after the last one and its commit marker', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    // Unknown at first (a coordinator just started): any offset is taken.
    offsets.written([at('models', 8)], counts({ models: 1 }));
    offsets.committed();
    // 8 written, 9 the marker: the next step's model goes at 10, its three chunks at 10–12.
    offsets.written([at('models', 10)], counts({ models: 3 }));
    offsets.committed();
    expect(() => offsets.written([at('models', 14)], counts({ models: 1 }))).not.toThrow();
  });

  it('refuses records that landed past where they had to go, the copy of a retried send', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    offsets.written([at('models', 8)], counts({ models: 1 }));
    offsets.committed();
    // The model went to 10 unanswered; the retry's copy is answered at 11.
    expect(() => offsets.written([at('models', 11)], counts({ models: 1 }))).toThrow(
      expect.objectContaining({
        code: 'TRIB_SEND_DUPLICATED',
        message: expect.stringMatching(/models\[0\].* 11, not 10/),
      }),
    );
  });

  it('follows several sends within one transaction, with no marker between them', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    offsets.written([at('models', 0)], counts({ models: 1 }));
    offsets.committed();
    offsets.written([at('models', 2)], counts({ models: 4 }));
    offsets.written([at('models', 6)], counts({ models: 2 }));
    expect(() => offsets.written([at('models', 9)], counts({ models: 1 }))).toThrow(/not 8/);
  });

  it('leaves other topics alone, and a step that wrote nothing moves nothing', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    offsets.written([at('models', 3), at('checkpoints', 40)], counts({ models: 1, checkpoints: 5 }));
    offsets.committed();
    offsets.written([at('checkpoints', 99)], counts({ checkpoints: 1 }));
    offsets.committed(); // a rejection batch's commit, no model in it
    expect(() => offsets.written([at('models', 5)], counts({ models: 1 }))).not.toThrow();
  });

  it('takes an answer without an offset as knowing nothing, and the next answer as it comes', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    offsets.written([at('models', 3)], counts({ models: 1 }));
    offsets.committed();
    offsets.written([{ topicName: 'models', partition: 0, errorCode: 0 }], counts({ models: 1 }));
    offsets.committed();
    offsets.written([at('models', 12)], counts({ models: 1 }));
    offsets.committed();
    expect(() => offsets.written([at('models', 15)], counts({ models: 1 }))).toThrow(/not 14/);
  });

  it('forgets where the next records go after an abort (its marker) and takes the next answer', () => {
    const offsets = new SoleWriterOffsets(new Set(['models']));
    offsets.written([at('models', 3)], counts({ models: 1 }));
    offsets.committed();
    offsets.written([at('models', 5)], counts({ models: 1 }));
    offsets.abandoned();
    offsets.written([at('models', 7)], counts({ models: 1 }));
    offsets.committed();
    expect(() => offsets.written([at('models', 10)], counts({ models: 1 }))).toThrow(/not 9/);
  });
});
