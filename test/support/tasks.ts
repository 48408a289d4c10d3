/** The example tasks the tests run, by path (as a user names them). */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../lib/run/processes.js';
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { loadTaskModel } from '../../lib/task/load.js';

export const MNIST_TASK = fileURLToPath(new URL('../../examples/mnist/task.ts', import.meta.url));
export const FASHION_TASK = fileURLToPath(new URL('../../examples/fashion-mnist/task.ts', import.meta.url));

/** The MNIST task's wire layout (its MLP unless `model` says otherwise), derived as the services do. */
export async function mnistLayout(model = 'mlp'): Promise<ModelLayout> {
  const built = await loadTaskModel(MNIST_TASK, { overrides: { model } });
  built.model.dispose();
  return built.layout;
}

/**
 * A temporary directory outside the repository where `import 'tributary'` resolves, as after
 * `npm install tributary`: its node_modules links this package. Tasks written into it load as a
 * user's would.
 */
export function userProjectDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(PACKAGE_ROOT, join(dir, 'node_modules', 'tributary'), 'dir');
  return dir;
}
