/**
 * Batches from examples already in memory (typed arrays), for tasks whose silo data is small enough
 * to hold once: one batch of tensors at a time, in a seeded shuffled order.
 */
import { seededRandom, shuffleInPlace } from '../core/random.js';
import type { Tf } from '../ml/backend.js';
import type { Batch } from './types.js';

export interface InMemoryExamples {
  /** count × (product of featureShape) values, example after example. */
  readonly features: Float32Array;
  readonly featureShape: readonly number[];
  /** One class index per example (one-hot encoded in the batches), or `targetWidth` values per example. */
  readonly labels: ArrayLike<number>;
  /** Classes for one-hot targets; omit for regression targets taken as they are. */
  readonly classes?: number;
  /** Values per example in `labels` when `classes` is omitted (default 1). */
  readonly targetWidth?: number;
}

export function exampleCount(data: InMemoryExamples): number {
  const width = data.featureShape.reduce((a, b) => a * b, 1);
  return Math.floor(data.features.length / width);
}

/**
 * One pass over `indices` (default: all examples) in batches of `batchSize`, shuffled by `seed`
 * (no shuffle when seed is null).
 */
export function* arrayBatches(
  tf: Tf,
  data: InMemoryExamples,
  options: { batchSize: number; seed: number | null; indices?: readonly number[] },
): Generator<Batch> {
  const width = data.featureShape.reduce((a, b) => a * b, 1);
  const order = options.indices
    ? [...options.indices]
    : Array.from({ length: exampleCount(data) }, (_, i) => i);
  if (options.seed !== null) shuffleInPlace(order, seededRandom(options.seed));
  // One-hot targets are written here rather than by tf.oneHot: no int32 tensor to build, dispose
  // and cast to float in every batch's loss. As tf.oneHot does, an index outside the classes (or
  // not an integer, truncated first) gives a row of zeros.
  const classes = data.classes;
  const targetWidth = classes ?? data.targetWidth ?? 1;
  for (let start = 0; start < order.length; start += options.batchSize) {
    const rows = order.slice(start, start + options.batchSize);
    const xs = new Float32Array(rows.length * width);
    const ys = new Float32Array(rows.length * targetWidth);
    rows.forEach((index, row) => {
      xs.set(data.features.subarray(index * width, (index + 1) * width), row * width);
      if (classes === undefined) {
        for (let j = 0; j < targetWidth; j++)
          ys[row * targetWidth + j] = data.labels[index * targetWidth + j] as number;
      } else {
        const label = (data.labels[index] as number) | 0;
        if (label >= 0 && label < classes) ys[row * classes + label] = 1;
      }
    });
    const x = tf.tensor(xs, [rows.length, ...data.featureShape]);
    const y = tf.tensor(ys, [rows.length, targetWidth]);
    yield { xs: x, ys: y };
  }
}
