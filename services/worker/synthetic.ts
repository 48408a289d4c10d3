/**
 * The synthetic trainer: no data and no TensorFlow, a delta after a fixed training time (a delay
 * model on top makes the fleet heterogeneous). The delta steps the model toward a fixed target, plus
 * noise, so the global model converges and every update is a real, finite delta of the job's
 * layout: the coordinator folds it as any other. For fleet benchmarks and tests, where 1,000 workers
 * must fit on two cores.
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

/** Per-element size (root mean square) of every synthetic delta. */
export const SYNTHETIC_STEP = 0.02;

/**
 * One synthetic local training from `start` for `task`, by `workerSeed` (pure): a step toward the
 * target, a little noise, always the same size, so a stale update is no larger than a fresh one
 * (shrinking deltas would look like outliers to the influence guard) and the model settles within
 * about a step of the target.
 */
export function syntheticDelta(
  start: Float32Array,
  target: Float32Array,
  task: Pick<TrainTask, 'baseVersion'>,
  workerSeed: number,
): { delta: Float32Array; loss: number } {
  const random = seededRandom(mixSeed(workerSeed, task.baseVersion));
  const delta = new Float32Array(start.length);
  let gapSquares = 0;
  let squares = 0;
  for (let i = 0; i < start.length; i++) {
    const gap = target[i]! - start[i]!;
    gapSquares += gap * gap;
    delta[i] = gap + SYNTHETIC_STEP * (random() * 2 - 1);
    squares += delta[i]! * delta[i]!;
  }
  const scale = squares > 0 ? SYNTHETIC_STEP / Math.sqrt(squares / start.length) : 0;
  for (let i = 0; i < delta.length; i++) delta[i]! *= scale;
  return { delta, loss: start.length > 0 ? gapSquares / start.length : 0 };
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
