/** Flower's own Python virtual environment for the benches, from bench/flower/requirements.txt. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from '../common.js';

const VENV = join(BENCH_DIR, 'flower', '.venv');
export const PYTHON = join(VENV, 'bin', 'python');

/** The Flower virtual environment (and TensorFlow in it, for the CNN comparison, when `withTensorFlow`). */
export function ensureVenv(withTensorFlow = false): string {
  if (!existsSync(PYTHON)) {
    console.log(JSON.stringify({ bench: 'flower', event: 'creating-venv', path: VENV }));
    const made = spawnSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    if (made.status !== 0) throw new Error('python3 -m venv failed');
  }
  const installed = spawnSync(
    PYTHON,
    ['-m', 'pip', 'install', '--quiet', '-r', join(BENCH_DIR, 'flower', 'requirements.txt')],
    { stdio: 'inherit' },
  );
  if (installed.status !== 0) throw new Error('pip install -r bench/flower/requirements.txt failed');
  if (withTensorFlow && spawnSync(PYTHON, ['-c', 'import tensorflow']).status !== 0) {
    // The same tensorflow-cpu wheel the workers' native TensorFlow is built from (ensure-native.sh).
    const cache = join(BENCH_DIR, '..', '.cache', 'tensorflow');
    const wheel = existsSync(cache) ? readdirSync(cache).find((f) => f.endsWith('.whl')) : undefined;
    const tf = spawnSync(
      PYTHON,
      ['-m', 'pip', 'install', '--quiet', wheel ? join(cache, wheel) : 'tensorflow-cpu'],
      {
        stdio: 'inherit',
      },
    );
    if (tf.status !== 0) throw new Error('pip install tensorflow-cpu failed');
  }
  return spawnSync(PYTHON, ['-c', 'import flwr; print(flwr.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
}
