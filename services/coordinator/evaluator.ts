/** Evaluation of global models on the coordinator's held-out MNIST split, which no worker sees. */
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { LabelledImages } from '../../lib/ml/mnist.js';
import type { ModelRunner } from '../../lib/ml/train.js';

export interface Evaluator {
  readonly layout: ModelLayout;
  readonly backend: string;
  initialWeights(): Float32Array;
  evaluate(weights: Float32Array): { accuracy: number; loss: number };
}

export function mnistEvaluator(
  runner: ModelRunner,
  test: LabelledImages,
  backend: string,
  modelSeed: number,
): Evaluator {
  const initial = runner.initialWeights(modelSeed);
  return {
    layout: runner.layout,
    backend,
    initialWeights: () => Float32Array.from(initial),
    evaluate: (weights) => runner.evaluate(weights, test),
  };
}
