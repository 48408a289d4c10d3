/**
 * The MNIST task of bench tta as files, for engines outside TF.js (Flower's clients, the protocol's
 * Python worker): exactly a Tributary run's data and initial weights, exported from Tributary's own
 * code (the MNIST example's split and Dirichlet(0.5) silo shards), never re-derived.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InMemoryExamples } from '../lib/task/arrays.js';
import { loadTaskModel } from '../lib/task/load.js';
import { heInitialWeights } from '../lib/task/model.js';
import { mnistSplit, shardIndices } from '../examples/mnist/data.js';
import { heterogeneousSpeed } from '../lib/run/federation.js';
import { PYTHON_WORKER } from '../examples/python-worker/interpreter.js';
import type { DelayBasis } from '../services/worker/delay.js';
import { MNIST_TASK, RESULTS_DIR } from './common.js';

/** `<path>.images.f32` (float32 rows of 784) and `<path>.labels.u8`: the rows `indices` (default all). */
export function writeImages(path: string, data: InMemoryExamples, indices?: readonly number[]): void {
  const width = 784;
  const rows = indices ?? Array.from({ length: data.features.length / width }, (_, i) => i);
  const images = new Float32Array(rows.length * width);
  const labels = new Uint8Array(rows.length);
  rows.forEach((index, row) => {
    images.set(data.features.subarray(index * width, (index + 1) * width), row * width);
    labels[row] = data.labels[index] as number;
  });
  writeFileSync(`${path}.images.f32`, Buffer.from(images.buffer));
  writeFileSync(`${path}.labels.u8`, Buffer.from(labels.buffer));
}

/**
 * bench/results/flower-data/seed-<seed>/: `test`, `worker-<i>` for each of `workers` silos, and
 * `initial.f32` (the model's initial weights for that seed). Returns the directory.
 */
export async function exportMnistTask(seed: number, workers: number): Promise<string> {
  const dir = join(RESULTS_DIR, 'flower-data', `seed-${seed}`);
  mkdirSync(dir, { recursive: true });
  const split = mnistSplit(seed, 2000);
  writeImages(join(dir, 'test'), split.test);
  for (let i = 0; i < workers; i++)
    writeImages(
      join(dir, `worker-${i}`),
      split.train,
      shardIndices(split, i, workers, { kind: 'dirichlet', alpha: 0.5 }, seed),
    );
  const model = await loadTaskModel(MNIST_TASK);
  const initial = heInitialWeights(model.layout, seed);
  model.model.dispose();
  writeFileSync(join(dir, 'initial.f32'), Buffer.from(initial.buffer));
  return dir;
}

/**
 * The protocol's Python worker `index` of a fleet on the files exportMnistTask wrote, with the
 * benchmark fleet's delays (lib/run/federation.ts heterogeneousSpeed): a Federation workerCommand.
 */
export function pythonWorker(
  python: string,
  dataDir: string,
  seed: number,
  delayBasis: DelayBasis,
  deviceMsPerSample: number,
) {
  return (index: number) => {
    const speed = heterogeneousSpeed(index, 10);
    const delay =
      speed.TRIBUTARY_DELAY === 'fixed'
        ? ['--delay-multiplier', speed.TRIBUTARY_DELAY_MULTIPLIER ?? '1']
        : [
            '--delay-sigma',
            speed.TRIBUTARY_DELAY_SIGMA ?? '0',
            '--delay-scale',
            speed.TRIBUTARY_DELAY_SCALE ?? '1',
          ];
    const data = ['--data', join(dataDir, `worker-${index}`), '--seed', String(seed * 1000 + index)];
    const basis = ['--delay-basis', delayBasis, '--device-ms-per-sample', String(deviceMsPerSample)];
    return { command: python, args: [PYTHON_WORKER, ...data, ...delay, ...basis] };
  };
}
