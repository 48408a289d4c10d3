import { describe, expect, it } from 'vitest';
import { firstReaching, versionSeconds } from './curves.js';

describe('versionSeconds', () => {
  const report = {
    accuracyCurve: [
      { version: 0, trainingSeconds: null, publishedTrainingSeconds: null, accuracy: 0.1 },
      { version: 1, trainingSeconds: 0.2, publishedTrainingSeconds: 0.15, accuracy: 0.5 },
      // version 2 skipped by central evaluation
      { version: 3, trainingSeconds: 0.5, publishedTrainingSeconds: 0.4, accuracy: 0.7 },
      // an older report: no commit time, the evaluation's end stands in
      { version: 4, trainingSeconds: 0.6, accuracy: 0.8 },
    ],
  };

  it('reads when each version was committed, by the clock Flower keeps', () => {
    const at = versionSeconds(report);
    expect([1, 3, 4].map((v) => at.get(v))).toEqual([0.15, 0.4, 0.6]);
  });

  it('is null for a version the curve lacks, and for one with no time (version 0, before the first lease)', () => {
    const at = versionSeconds(report);
    expect([0, 2, 5].map((v) => at.has(v))).toEqual([false, false, false]);
  });

  it('skips points without a version (reports from before versions were recorded)', () => {
    expect(versionSeconds({ accuracyCurve: [{ trainingSeconds: 1, accuracy: 0.9 }] }).size).toBe(0);
  });
});

describe('firstReaching', () => {
  const curve = [
    { x: 0, y: 0.1 },
    { x: 1.5, y: 0.89 },
    { x: 2, y: 0.9 },
    { x: 3, y: 0.95 },
  ];

  it("is the first point's x at or above the target", () => {
    expect(firstReaching(curve, 0.9)).toBe(2);
    expect(firstReaching(curve, 0.85)).toBe(1.5);
  });

  it('is null for a curve that never reaches the target', () => {
    expect(firstReaching(curve, 0.96)).toBeNull();
    expect(firstReaching([], 0.5)).toBeNull();
  });
});
