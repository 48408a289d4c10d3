/**
 * Central evaluation of global models on the task's held-out data (which no worker sees), when the
 * task has any; without it the coordinator publishes models unevaluated.
 */
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { batchesOf } from '../../lib/task/batches.js';
import type { Evaluation, TaskModel } from '../../lib/task/model.js';
import type { Batch, BatchSource, TaskConfig } from '../../lib/task/types.js';
import { FIRST_BATCH, nextBatchSize, type Slice } from './evaluation-batches.js';
import { HeldOutData } from './held-out.js';

export interface Evaluator {
  readonly layout: ModelLayout;
  readonly backend: string;
  /** False when the task has no central evaluation data. */
  readonly evaluates: boolean;
  /** The task's names for its classes (federated evaluation's per-class figures), if it gives them. */
  readonly classNames: readonly string[];
  /** Output width of a classifier (a cross-entropy loss), else null. */
  readonly classes: number | null;
  /** False while the model is still loading (./deferred-evaluator.ts): `classes` is not known yet. */
  readonly ready: boolean;
  initialWeights(): Promise<Float32Array>;
  evaluate(weights: Float32Array): Promise<Evaluation | null>;
}

/**
 * Evaluation batches are sized by time, not examples: each is a slice of the coordinator's thread
 * that folds and steps wait behind, so it should be short, yet TensorFlow's cost per call argues
 * for few, large batches (the MNIST MLP's 2,000 test examples on one thread: 29 ms in batches of
 * 128, 14–20 ms in batches of 512, 8.5 ms as one). After each evaluation the next batch size is
 * set so a batch takes about `sliceMs` (./evaluation-batches.ts); the first has FIRST_BATCH examples.
 * With batches of 512 against the whole test set in one, FedBuff made 235 against 260 versions in
 * 12-s MNIST runs with NumPy workers (6 seeds each, alternating); FedAvg was level.
 */
export function taskEvaluator(
  model: TaskModel<TaskConfig>,
  backend: string,
  modelSeed: number,
  sliceMs: number,
): Evaluator {
  const initial = model.initialWeights(modelSeed);
  const data = model.task.data.evaluation;
  const heldOut = data
    ? new HeldOutData(model.tf, (batchSize) => data({ tf: model.tf, config: model.config, batchSize }))
    : null;
  let batchSize = FIRST_BATCH;
  return {
    layout: model.layout,
    backend,
    evaluates: heldOut !== null,
    classNames: model.task.classNames ?? [],
    classes: model.classes,
    ready: true,
    initialWeights: () => Promise.resolve(Float32Array.from(initial)),
    evaluate: async (weights) => {
      if (!heldOut) return null;
      const slices: Slice[] = [];
      const evaluation = await model.evaluate(
        weights,
        timedGivingWay(heldOut.batches(batchSize), () => performance.now(), slices),
      );
      batchSize = nextBatchSize(batchSize, slices, sliceMs);
      return evaluation;
    },
  };
}

/**
 * The batches with a turn of the event loop after each: an evaluation runs beside the fold path
 * (./central-evaluation.ts), and updates that arrive meanwhile are folded between its batches
 * instead of after the whole test set. Each batch's evaluation (the time the consumer holds it,
 * from this yield to its next call) is recorded in `slices`.
 */
export async function* timedGivingWay(
  source: BatchSource | Promise<BatchSource>,
  now: () => number,
  slices: Slice[],
): AsyncGenerator<Batch> {
  for await (const batch of batchesOf(source)) {
    const handedAt = now();
    yield batch;
    slices.push({ examples: batch.xs.shape[0] ?? 0, ms: now() - handedAt });
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
