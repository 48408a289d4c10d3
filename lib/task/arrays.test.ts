/** arrayBatches on TF.js's cpu backend: targets, order, batch sizes and subsets, against tf.oneHot where it can. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrayBatches, exampleCount, type InMemoryExamples } from './arrays.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Example i's features are [i, i + 0.5]: a batch's rows say which examples it holds. */
function examples(labels: number[], extra: Partial<InMemoryExamples> = {}): InMemoryExamples {
  const features = new Float32Array(labels.length * 2);
  labels.forEach((_, i) => features.set([i, i + 0.5], i * 2));
  return { features, featureShape: [2], labels, ...extra };
}

const drain = (data: InMemoryExamples, options: Parameters<typeof arrayBatches>[2]) =>
  [...arrayBatches(tf, data, options)].map(({ xs, ys }) => {
    const batch = { xs: xs.arraySync() as number[][], ys: ys.arraySync() as number[][], dtype: ys.dtype };
    xs.dispose();
    ys.dispose();
    return batch;
  });
const rowsOf = (batches: ReturnType<typeof drain>) => batches.flatMap((b) => b.xs.map((row) => row[0]));

describe('arrayBatches', () => {
  it('one-hot encodes class indices as tf.oneHot does, out-of-range and fractional ones included', () => {
    const labels = [0, 2, 1, 3, -1, 7, 2.9, 1.2, 0];
    const [batch] = drain(examples(labels, { classes: 3 }), { batchSize: labels.length, seed: null });
    const reference = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), 3);
    expect(batch?.ys).toEqual(reference.arraySync());
    expect(batch?.dtype).toBe('float32');
    reference.dispose();
  });

  it('takes regression targets as they are, targetWidth values per example', () => {
    const data = examples([0, 0, 0], { labels: [1.5, -2, 3, 4, 0.25, 6], targetWidth: 2 });
    const [batch] = drain(data, { batchSize: 3, seed: null });
    expect(batch?.ys).toEqual([
      [1.5, -2],
      [3, 4],
      [0.25, 6],
    ]);
    expect(batch?.xs).toEqual([
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
    ]);
  });

  it('passes over every example once in batches of batchSize, the last one partial', () => {
    const data = examples(
      Array.from({ length: 10 }, (_, i) => i % 3),
      { classes: 3 },
    );
    const batches = drain(data, { batchSize: 4, seed: 7 });
    expect(batches.map((b) => b.xs.length)).toEqual([4, 4, 2]);
    expect([...rowsOf(batches)].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Each row keeps its own label through the shuffle.
    for (const b of batches) b.xs.forEach((row, r) => expect(b.ys[r]?.[(row[0] ?? 0) % 3]).toBe(1));
  });

  it('shuffles by its seed: the same seed, the same order; another seed, another order; null, none', () => {
    const data = examples(
      Array.from({ length: 32 }, () => 0),
      { classes: 2 },
    );
    const order = (seed: number | null) => rowsOf(drain(data, { batchSize: 5, seed }));
    expect(order(3)).toEqual(order(3));
    expect(order(3)).not.toEqual(order(4));
    expect(order(null)).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('reads only the given indices', () => {
    const data = examples([0, 1, 0, 1, 0, 1], { classes: 2 });
    expect(rowsOf(drain(data, { batchSize: 2, seed: null, indices: [5, 1, 4] }))).toEqual([5, 1, 4]);
  });

  it('counts whole examples only', () => {
    expect(exampleCount({ features: new Float32Array(7), featureShape: [3], labels: [] })).toBe(2);
  });
});
