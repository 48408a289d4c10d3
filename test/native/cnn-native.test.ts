/**
 * Native TensorFlow is what the workers run on this machine (installed by
 * infra/tensorflow/ensure-native.sh), and its numerics are sound: the MNIST example's small CNN,
 * trained centrally (one process, no Kafka) through the task API, reaches ≥ 0.95 on the held-out
 * test split. Issue #6.
 */
import { describe, expect, it } from 'vitest';
import { loadTf } from '../../lib/ml/backend.js';
import { loadTaskModel } from '../../lib/task/load.js';
import { MNIST_TASK } from '../support/tasks.js';

describe('native TensorFlow backend', () => {
  it('is the backend a worker picks for the CNN', async () => {
    const { backend, skipped } = await loadTf({ needsConvGradients: true });
    expect(backend, `fell back: ${skipped.join('; ')} — run infra/tensorflow/ensure-native.sh`).toBe(
      'tensorflow',
    );
  });

  it('trains the small CNN centrally to at least 0.95 test accuracy', async () => {
    const model = await loadTaskModel(MNIST_TASK, { overrides: { model: 'cnn' }, backend: 'tensorflow' });
    expect(model.tf.getBackend()).toBe('tensorflow');
    const { task, config, tf } = model;
    const evaluation = task.data.evaluation;
    if (!evaluation) throw new Error('the MNIST task has evaluation data');
    const silo = { tf, config, silo: 'central', workerId: 'central', shard: { index: 0, count: 1 } };
    let weights = model.initialWeights(7);
    let accuracy = 0;
    for (let epoch = 0; epoch < 6 && accuracy < 0.95; epoch++) {
      const result = await model.train(
        weights,
        { epochs: 1, steps: null, batchSize: 32, learningRate: 0.05, proximalMu: null },
        () =>
          task.data.train?.({ ...silo, partition: { kind: 'iid' }, seed: epoch, epoch, batchSize: 32 }) ?? [],
      );
      if (!result) throw new Error('training stopped');
      weights = weights.map((w, i) => w - (result.delta[i] as number));
      accuracy = (await model.evaluate(weights, evaluation({ tf, config, batchSize: 500 }))).accuracy ?? 0;
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
