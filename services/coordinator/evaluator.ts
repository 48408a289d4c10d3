/**
 * Central evaluation of global models on the task's held-out data (which no worker sees), when the
 * task has any; without it the coordinator publishes models unevaluated.
 */
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { batchesOf } from '../../lib/task/batches.js';
import type { Evaluation, TaskModel } from '../../lib/task/model.js';
import type { Batch, BatchSource, TaskConfig } from '../../lib/task/types.js';

export interface Evaluator {
  readonly layout: ModelLayout;
  readonly backend: string;
  /** False when the task has no central evaluation data. */
  readonly evaluates: boolean;
  /** The task's names for its classes (federated evaluation's per-class figures), if it gives them. */
  readonly classNames: readonly string[];
  /** Output width of a classifier (a cross-entropy loss), else null. */
  readonly classes: number | null;
  initialWeights(): Float32Array;
  evaluate(weights: Float32Array): Promise<Evaluation | null>;
}

/**
 * `batchSize`: examples per evaluation batch. Small enough that each slice of an evaluation that
 * runs beside the fold path is short, large enough that TensorFlow's per-call cost does not
 * dominate: the MNIST MLP's 2,000 test examples on one thread take 29 ms in batches of 128, 14–20 ms
 * in batches of 512 (about 4 ms a slice), 8.5 ms in one batch.
 */
export function taskEvaluator(
  model: TaskModel<TaskConfig>,
  backend: string,
  modelSeed: number,
  batchSize = 512,
): Evaluator {
  const initial = model.initialWeights(modelSeed);
  const data = model.task.data.evaluation;
  return {
    layout: model.layout,
    backend,
    evaluates: data !== undefined,
    classNames: model.task.classNames ?? [],
    classes: model.classes,
    initialWeights: () => Float32Array.from(initial),
    evaluate: async (weights) =>
      data
        ? model.evaluate(weights, givingWayEachBatch(data({ tf: model.tf, config: model.config, batchSize })))
        : null,
  };
}

/**
 * The batches with a turn of the event loop after each: an evaluation runs beside the fold path
 * (./central-evaluation.ts), and updates that arrive meanwhile are folded between its batches
 * instead of after the whole test set.
 */
async function* givingWayEachBatch(source: BatchSource | Promise<BatchSource>): AsyncGenerator<Batch> {
  for await (const batch of batchesOf(source)) {
    yield batch;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** An evaluation as the numbers of a model record and an event: testLoss, testAccuracy, testMse… */
export function evaluationNumbers(e: Evaluation): Record<string, number> {
  const numbers: Record<string, number> = { testLoss: e.loss };
  for (const [name, value] of Object.entries(e.metrics))
    numbers[`test${name.charAt(0).toUpperCase()}${name.slice(1)}`] = value;
  return numbers;
}

/** Whether a new version is evaluated centrally: every `evaluateEvery`-th, and the last. */
export function evaluatesVersion(
  config: { evaluateEvery: number; maxVersions: number | null },
  version: number,
): boolean {
  return version % config.evaluateEvery === 0 || config.maxVersions === version;
}
