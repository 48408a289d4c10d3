/**
 * Warms the training engine before the worker checks in: a few hundred steps of local training on
 * the silo's own data, from version 0's weights, thrown away.
 *
 * Why: a fresh Node process trains its first tasks several times slower than later ones. One-epoch
 * MNIST shard tasks took 629 ms of CPU for the first, 88 each for tasks 2–5, then 33–36 (bench
 * warm-up): TensorFlow's first kernel runs and V8 compiling the step's JavaScript. A worker that
 * pays that on its first leased tasks sends them late (stale under FedBuff, the slowest of a
 * synchronous round), so it pays it here instead, as a service warms up before it registers.
 *
 * Nothing carries over into real tasks: every task sets the global weights before training, and
 * each training builds its own optimizer.
 */
import type { BatchSource, LocalHyperparameters } from '../../lib/task/types.js';
import type { TaskModel } from '../../lib/task/model.js';
import { batchesOf } from '../../lib/task/batches.js';

export interface WarmUpBudget {
  /** Training steps (batches) to run; 0: no warm-up. */
  readonly steps: number;
  /** Stop sooner once the warm-up has used this much of the process's CPU time (a large model). */
  readonly maxCpuMs: number;
}

export interface WarmUpOutcome {
  readonly steps: number;
  readonly ms: number;
  readonly cpuMs: number;
  /** `steps`: the budget's steps ran; `cpu`: its CPU time ran out first; `data`: the silo has no data yet. */
  readonly stoppedBy: 'steps' | 'cpu' | 'data';
}

/** The process's CPU time in ms (all its threads: native TensorFlow's included). */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Trains `budget.steps` steps of `hyperparameters` on the passes `batches(epoch)` gives, from
 * `start`, and discards the result.
 */
export async function warmUpTraining(
  model: Pick<TaskModel, 'train'>,
  start: Float32Array,
  batches: (epoch: number) => BatchSource | Promise<BatchSource>,
  budget: WarmUpBudget,
  hyperparameters: Omit<LocalHyperparameters, 'epochs' | 'steps'>,
  cpuMs: () => number = processCpuMs,
): Promise<WarmUpOutcome> {
  const began = performance.now();
  const cpuBegan = cpuMs();
  let steps = 0;
  const outcome = (stoppedBy: WarmUpOutcome['stoppedBy']): WarmUpOutcome => ({
    steps,
    ms: performance.now() - began,
    cpuMs: cpuMs() - cpuBegan,
    stoppedBy,
  });
  if (budget.steps <= 0) return outcome('steps');
  let outOfCpu = false;
  const counted = async function* (epoch: number) {
    for await (const batch of batchesOf(batches(epoch))) {
      steps += 1;
      yield batch;
    }
  };
  await model.train(
    start,
    // epochs is moot: with steps set, training passes over the data until that many steps ran.
    { ...hyperparameters, epochs: 1, steps: budget.steps },
    counted,
    () => (outOfCpu = outOfCpu || cpuMs() - cpuBegan >= budget.maxCpuMs),
  );
  if (outOfCpu) return outcome('cpu');
  return outcome(steps < budget.steps ? 'data' : 'steps');
}
