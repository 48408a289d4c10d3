/**
 * The synthetic trainer: no data and no TensorFlow, a delta after a fixed training time (a delay
 * model on top makes the fleet heterogeneous). The delta pulls the model a tenth of the way toward
 * a fixed target, plus noise, so the global model converges and every update is a real, finite
 * delta of the job's layout: the coordinator folds it as any other. For fleet benchmarks and tests,
 * where 1,000 workers must fit on two cores.
 */
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { mixSeed, seededRandom } from '../../lib/core/random.js';
import type { TrainTask } from '../../lib/wire/schemas.js';
import type { LocalResult } from './update.js';

export const SYNTHETIC_EXAMPLES = 100;

/** The target every synthetic worker of a job pulls toward: the same for a layout and seed. */
export function syntheticTarget(size: number, seed = 7): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: size }, () => random() * 2 - 1);
}

/** One synthetic local training from `start` for `task`, by `workerSeed` (pure). */
export function syntheticDelta(
  start: Float32Array,
  target: Float32Array,
  task: Pick<TrainTask, 'baseVersion'>,
  workerSeed: number,
): { delta: Float32Array; loss: number } {
  const random = seededRandom(mixSeed(workerSeed, task.baseVersion));
  const delta = new Float32Array(start.length);
  let squares = 0;
  for (let i = 0; i < start.length; i++) {
    const gap = target[i]! - start[i]!;
    squares += gap * gap;
    delta[i] = 0.1 * gap + 0.01 * (random() * 2 - 1);
  }
  return { delta, loss: start.length > 0 ? squares / start.length : 0 };
}

/** A trainer for WorkerRunner: waits `trainMs` (abandoned if the worker stops), then a synthetic delta. */
export function syntheticTrainer(
  layout: ModelLayout,
  trainMs: number,
  workerSeed: number,
  target: Float32Array,
) {
  return {
    layout,
    backend: 'synthetic',
    async train(
      start: Float32Array,
      task: TrainTask,
      shouldStop: () => boolean,
    ): Promise<LocalResult | null> {
      const began = performance.now();
      for (let left = trainMs; left > 0; left = trainMs - (performance.now() - began)) {
        if (shouldStop()) return null;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, left)));
      }
      if (shouldStop()) return null;
      const { delta, loss } = syntheticDelta(start, target, task, workerSeed);
      return {
        delta,
        loss,
        numExamples: SYNTHETIC_EXAMPLES,
        samples: SYNTHETIC_EXAMPLES,
        seconds: (performance.now() - began) / 1000,
      };
    },
  };
}
