/**
 * A device fleet's small model: 8 sensor features, 4 operating states, 8-16-4 (228 parameters;
 * config.hidden sets the 16), on
 * readings each device generates for itself. The fleet benchmark (`npm run bench -- fleet`) and the
 * fleet tests run it with virtual workers and the synthetic trainer (`tributary worker
 * examples/device-fleet --virtual 300`); real workers can train it too, on the data below.
 */
import { arrayBatches, defineTask, seededRandom } from 'tributary';

const FEATURES = 8;
const STATES = 4;

/** `count` readings: each state shifts the features its own way, plus the device's own offset and noise. */
function readings(count: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const random = seededRandom(seed);
  const offset = Array.from({ length: FEATURES }, () => (random() - 0.5) * 0.5);
  const xs = new Float32Array(count * FEATURES);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const state = Math.floor(random() * STATES);
    labels[i] = state;
    for (let f = 0; f < FEATURES; f++)
      xs[i * FEATURES + f] = (f % STATES === state ? 1.5 : 0) + offset[f]! + (random() - 0.5);
  }
  return { features: xs, labels };
}

const seedOf = (text: string) =>
  [...text].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);

export default defineTask({
  id: 'device-fleet',
  config: { readingsPerDevice: 200, hidden: 16 },
  classNames: ['idle', 'running', 'overload', 'fault'],
  model: ({ tf, config }) =>
    tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [FEATURES],
          units: Number(config.hidden),
          activation: 'relu',
          name: 'hidden',
        }),
        tf.layers.dense({ units: STATES, activation: 'softmax', name: 'state' }),
      ],
    }),
  initialWeights: 'he-normal',
  data: {
    train: ({ tf, config, workerId, seed, batchSize }) => {
      const data = readings(Number(config.readingsPerDevice), seedOf(workerId));
      return arrayBatches(tf, { ...data, featureShape: [FEATURES], classes: STATES }, { batchSize, seed });
    },
    evaluation: ({ tf, batchSize }) => {
      const data = readings(400, 12345);
      return arrayBatches(
        tf,
        { ...data, featureShape: [FEATURES], classes: STATES },
        { batchSize, seed: null },
      );
    },
  },
});
