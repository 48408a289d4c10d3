/** The example tasks the tests run, by path (as a user names them). */
import { fileURLToPath } from 'node:url';
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
