/**
 * Batches from examples already in memory (typed arrays), for tasks whose silo data is small enough
 * to hold once: one batch of tensors at a time, in a seeded shuffled order.
 */
import type * as TF from '@tensorflow/tfjs';
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
  const targetWidth = data.classes === undefined ? (data.targetWidth ?? 1) : 1;
  for (let start = 0; start < order.length; start += options.batchSize) {
    const rows = order.slice(start, start + options.batchSize);
    const xs = new Float32Array(rows.length * width);
    const ys = new Float32Array(rows.length * targetWidth);
    rows.forEach((index, row) => {
      xs.set(data.features.subarray(index * width, (index + 1) * width), row * width);
      for (let j = 0; j < targetWidth; j++)
        ys[row * targetWidth + j] = data.labels[index * targetWidth + j] as number;
    });
    const x = tf.tensor(xs, [rows.length, ...data.featureShape]);
    let y: TF.Tensor;
    if (data.classes === undefined) y = tf.tensor(ys, [rows.length, targetWidth]);
    else {
      const labels = tf.tensor1d(Int32Array.from(ys), 'int32');
      y = tf.oneHot(labels, data.classes);
      labels.dispose();
    }
    yield { xs: x, ys: y };
  }
}
