import { describe, expect, it } from 'vitest';
import {
  bootstrapRatio,
  pairedRatios,
  pairOrder,
  quartiles,
  roundOrder,
  smoothedCrossing,
} from './statistics.js';

describe('smoothedCrossing', () => {
  const curve = [0.5, 0.91, 0.6, 0.88, 0.91, 0.92, 0.93].map((y, i) => ({ x: i * 10, y }));

  it('ignores a lone evaluation over the target and finds where the level over the window crosses it', () => {
    expect(curve.find((p) => p.y >= 0.9)?.x).toBe(10); // the raw first crossing
    expect(smoothedCrossing(curve, 0.9, 30)).toBe(50); // mean(0.88, 0.91, 0.92) > 0.9 > mean(0.6, 0.88, 0.91)
    expect(smoothedCrossing(curve, 0.9, 1)).toBe(10); // a window holding one point: the raw crossing
  });

  it('smooths over a span of x, however densely a curve is sampled', () => {
    const dense = Array.from({ length: 61 }, (_, i) => ({ x: i / 2, y: i % 2 === 0 ? 0.95 : 0.84 }));
    // Alternating 0.95 / 0.84: the level is below 0.90 however long the window.
    expect(smoothedCrossing(dense, 0.9, 3)).toBeNull();
    expect(smoothedCrossing(dense, 0.89, 3)).toBe(3); // not 0: one evaluation is no level
  });

  it('is null when the level never reaches the target', () => {
    expect(smoothedCrossing(curve, 0.95, 30)).toBeNull();
    expect(smoothedCrossing([], 0.1, 30)).toBeNull();
  });
});

describe('quartiles', () => {
  it('interpolates between order statistics', () => {
    expect(quartiles([4, 1, 3, 2])).toEqual({ q1: 1.75, median: 2.5, q3: 3.25 });
    expect(quartiles([7])).toEqual({ q1: 7, median: 7, q3: 7 });
  });
});

describe('bootstrapRatio', () => {
  it('gives the ratio of medians with an interval around it, the same for the same seed', () => {
    const a = [20, 22, 19, 25, 21, 30, 18, 23, 24, 20];
    const b = [10, 11, 10, 12, 9, 14, 10, 11, 12, 10];
    const r = bootstrapRatio(a, b, { paired: true, seed: 7 });
    expect(r.ratio).toBeCloseTo(21.5 / 10.5, 10);
    expect(r.low).toBeLessThanOrEqual(r.ratio);
    expect(r.high).toBeGreaterThanOrEqual(r.ratio);
    expect(r.low).toBeGreaterThan(1.5);
    expect(bootstrapRatio(a, b, { paired: true, seed: 7 })).toEqual(r);
  });

  it('has a degenerate interval for constant samples and a wide one for scattered samples', () => {
    expect(bootstrapRatio([2, 2, 2], [1, 1, 1])).toEqual({ ratio: 2, low: 2, high: 2 });
    const wide = bootstrapRatio([1, 10, 2, 9, 3, 8], [5, 5, 5, 5, 5, 5]);
    expect(wide.high - wide.low).toBeGreaterThan(0.5);
  });

  it('refuses paired samples of different lengths', () => {
    expect(() => bootstrapRatio([1, 2], [1], { paired: true })).toThrow(RangeError);
  });
});

describe('pairedRatios', () => {
  it('takes each ratio within its pair, then the median and range of those', () => {
    // A trend that lifts both sides: the ratio within each pair stays 0.8.
    expect(pairedRatios([80, 100, 120], [100, 125, 150])).toEqual({
      median: 0.8,
      min: 0.8,
      max: 0.8,
      ratios: [0.8, 0.8, 0.8],
    });
    const r = pairedRatios([90, 50, 100], [100, 100, 100]);
    expect([r.median, r.min, r.max]).toEqual([0.9, 0.5, 1]);
  });

  it('refuses samples of different lengths or none', () => {
    expect(() => pairedRatios([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedRatios([], [])).toThrow(RangeError);
  });
});

describe('pairOrder', () => {
  it('alternates which side goes first', () => {
    expect([0, 1, 2, 3].map((r) => pairOrder(r, 'path', 'java'))).toEqual([
      ['path', 'java'],
      ['java', 'path'],
      ['path', 'java'],
      ['java', 'path'],
    ]);
  });
});

describe('roundOrder', () => {
  it('rotates the items one place a round, so each takes each place once in as many rounds', () => {
    const orders = [0, 1, 2, 3].map((r) => roundOrder(r, ['flower', 'fedavg', 'fedbuff']));
    expect(orders).toEqual([
      ['flower', 'fedavg', 'fedbuff'],
      ['fedavg', 'fedbuff', 'flower'],
      ['fedbuff', 'flower', 'fedavg'],
      ['flower', 'fedavg', 'fedbuff'],
    ]);
    for (const place of [0, 1, 2]) expect(new Set(orders.slice(0, 3).map((o) => o[place])).size).toBe(3);
  });

  it('agrees with pairOrder on two items, and leaves one item or none as they are', () => {
    for (const r of [0, 1, 2, 7]) expect(roundOrder(r, ['a', 'b'])).toEqual(pairOrder(r, 'a', 'b'));
    expect(roundOrder(5, ['only'])).toEqual(['only']);
    expect(roundOrder(3, [])).toEqual([]);
  });
});
