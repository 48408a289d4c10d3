import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partition, type PartitionSpec } from './partition.js';
import { gamma, seededRandom } from './random.js';

const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
const specs: PartitionSpec[] = [
  { kind: 'iid' },
  { kind: 'dirichlet', alpha: 0.5 },
  { kind: 'shards', shardsPerClient: 2 },
];

describe.each(specs)('partition $kind', (spec) => {
  it('places every index in exactly one client', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.nat(), (clients, seed) => {
        const parts = partition(labels, clients, spec, seed);
        expect(parts).toHaveLength(clients);
        const all = parts.flat().sort((a, b) => a - b);
        expect(all).toEqual(labels.map((_, i) => i));
      }),
      { numRuns: 30 },
    );
  });

  it('is deterministic by seed', () => {
    expect(partition(labels, 8, spec, 42)).toEqual(partition(labels, 8, spec, 42));
    expect(partition(labels, 8, spec, 42)).not.toEqual(partition(labels, 8, spec, 43));
  });
});

describe('partition skew', () => {
  const classesPerClient = (parts: number[][]) => parts.map((p) => new Set(p.map((i) => labels[i])).size);
  it('shards with 2 per client give each client at most 2 classes (plus a boundary)', () => {
    expect(
      Math.max(...classesPerClient(partition(labels, 10, { kind: 'shards', shardsPerClient: 2 }, 1))),
    ).toBeLessThanOrEqual(3);
  });
  it('small α is more skewed than large α', () => {
    const skew = (alpha: number) => {
      const parts = partition(labels, 8, { kind: 'dirichlet', alpha }, 7);
      // mean share of each client's most common class
      return (
        parts.reduce((s, p) => {
          const counts = new Map<number, number>();
          p.forEach((i) => counts.set(labels[i] as number, (counts.get(labels[i] as number) ?? 0) + 1));
          return s + Math.max(...counts.values()) / p.length;
        }, 0) / parts.length
      );
    };
    expect(skew(0.1)).toBeGreaterThan(skew(100) + 0.2);
  });
  it('iid gives every client every class', () => {
    expect(Math.min(...classesPerClient(partition(labels, 8, { kind: 'iid' }, 3)))).toBe(10);
  });
  it('honours a minimum per client', () => {
    const parts = partition(labels, 8, { kind: 'dirichlet', alpha: 0.1 }, 5, 20);
    expect(Math.min(...parts.map((p) => p.length))).toBeGreaterThanOrEqual(20);
  });
});

describe('gamma sampler', () => {
  it.each([0.5, 1, 3])('has mean close to its shape %f', (shape) => {
    const random = seededRandom(9);
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += gamma(shape, random);
    expect(sum / 20000).toBeCloseTo(shape, 1);
  });
});
