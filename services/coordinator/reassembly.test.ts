import { describe, expect, it } from 'vitest';
import { modelLayout, splitFlat } from '../../lib/core/fedbuff/layout.js';
import { toRecords } from '../../lib/wire/records.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import { DEFAULT_REASSEMBLY_LIMITS, UpdateReassembly } from './reassembly.js';
import { codeOf } from '../../test/support/codes.js';

const layout = modelLayout('r', [{ name: 'w', shape: [40] }]);
const limits = {
  ...DEFAULT_REASSEMBLY_LIMITS,
  maxPayloadBytes: 160,
  maxPending: 3,
  maxSpanRecords: 100,
  maxAgeMs: 1000,
};

function chunked(updateId: string, workerId = 'w1'): ModelUpdate[] {
  return toRecords<ModelUpdate>(
    {
      updateId,
      taskId: 't',
      jobId: 'j',
      workerId,
      baseVersion: 0,
      numExamples: 1,
      metrics: {},
      timings: { startedAtMs: 0, finishedAtMs: 0 },
    },
    splitFlat(layout, new Float32Array(40).fill(0.25)),
    'FLOAT32',
    64,
  );
}

describe('UpdateReassembly', () => {
  it('gives a chunked update back whole and forgets where it began', () => {
    const r = new UpdateReassembly(limits);
    const [a, b, c] = chunked('u1');
    expect(r.accept(0, 10, 'u1', a as ModelUpdate, 0)).toBeNull();
    expect(r.firstHeldOffset(0)).toBe(10);
    expect(r.accept(0, 11, 'u1', b as ModelUpdate, 0)).toBeNull();
    const whole = r.accept(0, 12, 'u1', c as ModelUpdate, 0);
    expect(whole?.data.length).toBe(160);
    expect(r.firstHeldOffset(0)).toBeUndefined();
    expect(r.heldBytes).toBe(0);
  });

  it('expires first chunks that never complete by span and by age, freeing budget for honest updates', () => {
    const r = new UpdateReassembly(limits);
    // Three forged first chunks (different workers) fill the budget of three.
    for (let i = 0; i < 3; i++) r.accept(1, i, `fake${i}`, chunked(`fake${i}`, `m${i}`)[0] as ModelUpdate, 0);
    const honest = chunked('honest');
    expect(codeOf(() => r.accept(1, 50, 'honest', honest[0] as ModelUpdate, 0))).toBe(
      'TRIB_REASSEMBLY_BUDGET',
    );
    expect(r.expire(10, { partition: 1, offset: 100 })).toEqual([]); // span 100 is still within bounds
    expect(r.expire(10, { partition: 0, offset: 10_000 })).toEqual([]); // another partition's offsets say nothing
    const expired = r.expire(10, { partition: 1, offset: 101 });
    expect(expired.map((e) => [e.key, e.offset, e.error.code])).toEqual([['fake0', 0, 'TRIB_CHUNK_EXPIRED']]);
    expect(r.firstHeldOffset(1)).toBe(1);
    expect(r.expire(1001, undefined).map((e) => e.key)).toEqual(['fake1', 'fake2']); // by age
    expect(r.heldBytes).toBe(0);
    honest.forEach((chunk, i) => r.accept(1, 200 + i, 'honest', chunk, 1001));
    expect(r.size).toBe(0);
  });

  it('drops a key whose chunk is refused, so nothing partial stays held', () => {
    const r = new UpdateReassembly(limits);
    const [a, , c] = chunked('u');
    r.accept(0, 0, 'u', a as ModelUpdate, 0);
    expect(codeOf(() => r.accept(0, 1, 'u', c as ModelUpdate, 0))).toBe('TRIB_CHUNK_MISSING');
    expect(r.has('u')).toBe(false);
    expect(r.heldBytes).toBe(0);
  });

  it('refuses a first chunk claiming more than the model could hold', () => {
    const r = new UpdateReassembly({ ...limits, maxPayloadBytes: 100 });
    expect(codeOf(() => r.accept(0, 0, 'u', chunked('u')[0] as ModelUpdate, 0))).toBe('TRIB_CHUNK_CORRUPT');
  });
});
