/**
 * Native TensorFlow is what the workers run on this machine (installed by
 * infra/tensorflow/ensure-native.sh), and its numerics are sound: the small CNN, trained centrally
 * (one process, no Kafka) on MNIST, reaches ≥ 0.95 on the held-out test split. Issue #6.
 */
import { describe, expect, it } from 'vitest';
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { architecture } from '../../lib/ml/architectures.js';
import { loadTf } from '../../lib/ml/backend.js';
import { mnistSplit } from '../../lib/ml/mnist.js';
import { ModelRunner } from '../../lib/ml/train.js';

describe('native TensorFlow backend', () => {
  it('is the backend a worker picks for the CNN', async () => {
    const { backend, skipped } = await loadTf({ needsConvGradients: true });
    expect(backend, `fell back: ${skipped.join('; ')} — run infra/tensorflow/ensure-native.sh`).toBe(
      'tensorflow',
    );
  });

  it('trains the small CNN centrally to at least 0.95 test accuracy', async () => {
    const { tf, backend } = await loadTf({ needsConvGradients: true });
    expect(backend).toBe('tensorflow');
    const arch = architecture('mnist-cnn-v1');
    const runner = new ModelRunner(tf, arch, modelLayout(arch.id, arch.tensors));
    const { train, test } = mnistSplit(1);
    let weights = runner.initialWeights(7);
    let accuracy = 0;
    for (let epoch = 0; epoch < 6 && accuracy < 0.95; epoch++) {
      const result = await runner.train(weights, train, {
        epochs: 1,
        steps: null,
        batchSize: 32,
        learningRate: 0.05,
        proximalMu: null,
        seed: epoch,
      });
      if (!result) throw new Error('training stopped');
      weights = weights.map((w, i) => w - (result.delta[i] as number));
      accuracy = runner.evaluate(weights, test).accuracy;
      console.log(
        JSON.stringify({
          test: 'cnn-native',
          epoch,
          loss: result.loss,
          samplesPerSecond: Math.round(result.samples / result.seconds),
          accuracy,
        }),
      );
    }
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
  });
});
