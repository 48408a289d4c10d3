import { describe, expect, it } from 'vitest';
import { GROWTH, MAX_BATCH, MIN_BATCH, nextBatchSize } from './evaluation-batches.js';

describe('nextBatchSize', () => {
  it('sizes the next batch to the slice by the cheapest example measured', () => {
    // 512 examples in 4 ms (and a disturbed batch, and a small remainder) → 0.0078 ms each.
    const slices = [
      { examples: 512, ms: 4 },
      { examples: 512, ms: 9 },
      { examples: 464, ms: 5 },
    ];
    expect(nextBatchSize(512, slices, 10)).toBe(Math.floor(10 / (4 / 512)));
  });

  it('shrinks at once when batches take longer than the slice', () => {
    expect(nextBatchSize(2048, [{ examples: 2048, ms: 80 }], 10)).toBe(256);
  });

  it('grows at most GROWTH-fold per evaluation', () => {
    expect(nextBatchSize(100, [{ examples: 100, ms: 0.01 }], 10)).toBe(100 * GROWTH);
  });

  it('stays within its bounds', () => {
    expect(nextBatchSize(64, [{ examples: 64, ms: 1000 }], 10)).toBe(MIN_BATCH);
    expect(nextBatchSize(MAX_BATCH, [{ examples: MAX_BATCH, ms: 0 }], 10)).toBe(MAX_BATCH);
  });

  it('keeps the size when nothing usable was measured', () => {
    expect(nextBatchSize(512, [], 10)).toBe(512);
    expect(nextBatchSize(512, [{ examples: 0, ms: 3 }], 10)).toBe(512);
    expect(nextBatchSize(512, [{ examples: 10, ms: Number.NaN }], 10)).toBe(512);
    expect(nextBatchSize(512, [{ examples: 10, ms: -1 }], 10)).toBe(512);
  });

  it('converges on a slice whatever the start, for a cost linear in examples', () => {
    const msPerExample = 0.004; // the MNIST MLP: 2,000 examples in about 8 ms
    for (const start of [16, 512, 8192]) {
      let size = start;
      for (let i = 0; i < 10; i++)
        size = nextBatchSize(size, [{ examples: size, ms: size * msPerExample }], 10);
      expect(size).toBe(2500);
    }
  });
});
