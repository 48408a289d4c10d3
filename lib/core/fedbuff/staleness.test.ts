import { describe, expect, it } from 'vitest';
import { stalenessWeight } from './staleness.js';
import { coordinateMedian, coordinateTrimmedMean, trimCount } from './robust.js';

describe('stalenessWeight', () => {
  it.each([
    [0, 1],
    [1, 1 / Math.SQRT2],
    [3, 0.5],
    [8, 1 / 3],
  ])('polynomial a = 0.5 at τ = %i is %f', (tau, expected) => {
    expect(stalenessWeight(tau, { kind: 'polynomial', exponent: 0.5 })).toBeCloseTo(expected, 12);
  });

  it('polynomial a = 1 is 1/(1+τ) and a = 0 is constant', () => {
    expect(stalenessWeight(4, { kind: 'polynomial', exponent: 1 })).toBeCloseTo(0.2, 12);
    expect(stalenessWeight(4, { kind: 'polynomial', exponent: 0 })).toBe(1);
  });

  it('is non-increasing in τ for every policy', () => {
    for (const policy of [
      { kind: 'constant' } as const,
      { kind: 'polynomial', exponent: 0.5 } as const,
      { kind: 'hinge', a: 2, b: 3 } as const,
    ]) {
      for (let tau = 0; tau < 50; tau++) {
        expect(stalenessWeight(tau + 1, policy)).toBeLessThanOrEqual(stalenessWeight(tau, policy));
      }
    }
  });

  it('refuses negative or fractional staleness', () => {
    expect(() => stalenessWeight(-1, { kind: 'constant' })).toThrow(RangeError);
    expect(() => stalenessWeight(0.5, { kind: 'constant' })).toThrow(RangeError);
  });
});

describe('robust reductions', () => {
  const vectors = [
    Float32Array.from([1, 9]),
    Float32Array.from([5, 2]),
    Float32Array.from([3, 4]),
    Float32Array.from([7, 6]),
  ];
  it('median of an even count is the mean of the two middle values', () => {
    expect([...coordinateMedian(vectors, new Float32Array(2))]).toEqual([4, 5]);
  });
  it('median of an odd count is the middle value', () => {
    expect([...coordinateMedian(vectors.slice(0, 3), new Float32Array(2))]).toEqual([3, 4]);
  });
  it('trimmed mean with no trim is the mean', () => {
    expect([...coordinateTrimmedMean(vectors, 0, new Float32Array(2))]).toEqual([4, 5.25]);
  });
  it('trimCount never trims everything', () => {
    expect(trimCount(4, 0.25)).toBe(1);
    expect(trimCount(2, 0.49)).toBe(0);
    expect(trimCount(10, 0.45)).toBe(4);
  });
});
