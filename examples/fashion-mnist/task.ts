/**
 * Fashion-MNIST with a small CNN: harder than MNIST (the classes shirt, T-shirt, pullover and coat
 * look alike), so the run takes minutes. 70,000 images split by seed into a held-out test set for
 * the coordinator and a training pool that simulated silos share out (`tributary run --partition`).
 *
 *   tributary run examples/fashion-mnist
 */
import { arrayBatches, defineTask } from 'tributary';
import { fashionSplit, siloExamples, testExamples } from './data.js';

export default defineTask({
  id: 'fashion-mnist-cnn',
  config: { dataSeed: 1, testCount: 2000 },
  model: ({ tf }) =>
    tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 16,
          kernelSize: 3,
          activation: 'relu',
          name: 'conv1',
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', name: 'conv2' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 64, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
      ],
    }),
  initialWeights: 'he-normal',
  data: {
    train: ({ tf, config, shard, partition, seed, batchSize }) => {
      const split = fashionSplit(config.dataSeed, config.testCount);
      const silo = siloExamples(split, shard.index, shard.count, partition, config.dataSeed);
      return arrayBatches(tf, silo, { batchSize, seed });
    },
    evaluation: ({ tf, config, batchSize }) =>
      arrayBatches(tf, testExamples(fashionSplit(config.dataSeed, config.testCount)), {
        batchSize,
        seed: null,
      }),
  },
  defaults: {
    concurrency: 4,
    bufferSize: 2,
    localSteps: 50,
    batchSize: 32,
    learningRate: 0.05,
    taskDeadlineMs: 60_000,
    targetAccuracy: 0.85,
    maxWallSeconds: 900,
  },
});
