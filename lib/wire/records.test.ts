import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { modelLayout, splitFlat } from '../core/fedbuff/layout.js';
import { RecordAssembler, toRecords } from './records.js';
import type { ModelUpdate } from './schemas.js';

const layout = modelLayout('m', [{ name: 'w', shape: [25] }]); // 100 bytes in FLOAT32
const weights = Float32Array.from({ length: 25 }, (_, i) => i / 7);
const base = {
  updateId: 'u',
  taskId: 't',
  jobId: 'j',
  workerId: 'w',
  baseVersion: 0,
  numExamples: 1,
  metrics: {},
  timings: { startedAtMs: 0, finishedAtMs: 0 },
};
const records = (maxChunkBytes: number) =>
  toRecords<ModelUpdate>(base, splitFlat(layout, weights), 'FLOAT32', maxChunkBytes);

describe('toRecords', () => {
  it('sends a payload that fits as one record without a chunk header', () => {
    const [only, ...rest] = records(100);
    expect(rest).toHaveLength(0);
    expect(only?.chunk).toBeNull();
    expect(Buffer.from(only?.data ?? [])).toEqual(Buffer.from(weights.buffer));
  });

  it('chunks a payload one byte over, each chunk naming the hash of the whole', () => {
    const chunks = records(99);
    const whole = createHash('sha256').update(Buffer.from(weights.buffer)).digest();
    expect(chunks.map((c) => [c.chunk?.index, c.chunk?.count, c.data.length])).toEqual([
      [0, 2, 99],
      [1, 2, 1],
    ]);
    expect(chunks.every((c) => Buffer.from(c.chunk?.sha256 ?? []).equals(whole))).toBe(true);
    const assembler = new RecordAssembler<ModelUpdate>();
    const [first, second] = chunks as [ModelUpdate, ModelUpdate];
    expect(assembler.accept('u', first)).toBeNull();
    expect(Buffer.from(assembler.accept('u', second)?.data ?? [])).toEqual(Buffer.from(weights.buffer));
  });

  it('refuses a chunk size below one byte', () => {
    expect(() => records(0)).toThrow(RangeError);
  });
});
