/**
 * The task the Python worker example joins: three Gaussian classes in four dimensions ("blobs"),
 * a dense network 4 → 16 (ReLU) → 3 (softmax). Its data is defined by two constants, CENTRES and
 * SPREAD, that worker.py repeats: a silo in any language draws its own examples from them.
 *
 *   tributary coordinator examples/python-worker --job blobs
 *   tributary worker examples/python-worker --job blobs --silo ts-site --worker-id ts-0
 *   python examples/python-worker/worker.py --job blobs --worker-id py-0 --silo py-site
 */
import { arrayBatches, defineTask, seededRandom } from 'tributary';

/** Class means; every feature has standard deviation SPREAD around them. */
export const CENTRES = [
  [3, 0, 0, 0],
  [0, 3, 0, 0],
  [0, 0, 3, 0],
] as const;
export const SPREAD = 1;

function blobs(count: number, seed: number) {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const features = new Float32Array(count * 4);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % CENTRES.length;
    labels[i] = label;
    for (let j = 0; j < 4; j++) features[i * 4 + j] = (CENTRES[label]?.[j] ?? 0) + SPREAD * normal();
  }
  return { features, featureShape: [4], labels, classes: CENTRES.length };
}

export default defineTask({
  id: 'blobs-mlp',
  config: { examplesPerSilo: 600 },
  model: ({ tf }) =>
    tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 16, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: CENTRES.length, activation: 'softmax', name: 'out' }),
      ],
    }),
  initialWeights: 'he-normal',
  data: {
    train: ({ tf, config, shard, seed, batchSize }) =>
      arrayBatches(tf, blobs(Number(config.examplesPerSilo), 1000 + shard.index), { batchSize, seed }),
    evaluation: ({ tf, batchSize }) => arrayBatches(tf, blobs(900, 7), { batchSize, seed: null }),
  },
  defaults: {
    bufferSize: 2,
    concurrency: 2,
    localSteps: 10,
    batchSize: 32,
    learningRate: 0.1,
    maxVersions: 30,
  },
});
