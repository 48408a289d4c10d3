/**
 * The Python worker's interpreter: a virtual environment in .cache/python-worker-venv with
 * requirements.txt from PyPI, made on first use (used by its integration test and bench tta-numpy).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON_WORKER = fileURLToPath(new URL('./worker.py', import.meta.url));
const VENV = fileURLToPath(new URL('../../.cache/python-worker-venv/', import.meta.url));

/** The venv's python, with the worker's requirements installed (pip is quick when they are). */
export function pythonWorkerInterpreter(): string {
  const python = join(VENV, 'bin', 'python');
  if (!existsSync(python)) {
    const made = spawnSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    if (made.status !== 0) throw new Error('python3 -m venv failed');
  }
  const requirements = fileURLToPath(new URL('./requirements.txt', import.meta.url));
  const installed = spawnSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements],
    { stdio: 'inherit' },
  );
  if (installed.status !== 0)
    throw new Error('pip install -r examples/python-worker/requirements.txt failed');
  return python;
}
