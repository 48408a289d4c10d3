/**
 * Machine-health classification for a fleet of plants: each plant (silo) streams its machines'
 * vibration telemetry into its own Kafka topic, `<plant>.telemetry`, Avro with the plant's own
 * registered schema; its worker trains on a sliding window of that stream. No central test set:
 * each plant evaluates global versions on its own holdout (federated evaluation).
 *
 *   npm run sensor-fleet     # the whole story: the plants' telemetry, federated and alone runs, charts
 *
 * Silos must be named after plants (plant-0 … plant-3) and their topics fed: run.ts does both.
 */
import { arrayBatches, defineTask, seededRandom } from 'tributary';
import { CONDITIONS, FEATURES, featuresOf, holdoutReadings, PLANTS, type Reading } from './physics.js';

const plantOf = (silo: string) => {
  const plant = PLANTS.find((p) => p.name === silo);
  if (!plant) throw new Error(`no plant named ${silo} (plants: ${PLANTS.map((p) => p.name).join(', ')})`);
  return plant;
};

/** The telemetry record as the plants register it (any schema with these fields will do). */
type TelemetryRecord = Omit<Reading, 'condition'> & { condition: string };

export default defineTask({
  id: 'sensor-fleet-mlp',
  // `run` tags the telemetry topics (`<plant>.telemetry.<run>`), so that a run on a shared cluster
  // reads only its own plants' readings; empty: `<plant>.telemetry`.
  config: { holdoutPerCondition: 60, holdoutSeed: 7, run: '' },
  classNames: [...CONDITIONS],
  model: ({ tf }) =>
    tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [FEATURES], units: 32, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: CONDITIONS.length, activation: 'softmax', name: 'health' }),
      ],
    }),
  initialWeights: 'he-normal',
  data: {
    stream: {
      topics: ({ silo, config }) => [`${silo}.telemetry${config.run ? `.${String(config.run)}` : ''}`],
      format: 'avro',
      map: (value) => {
        const r = value as TelemetryRecord;
        // Avro enum symbols cannot hold '-': outer_race on the wire.
        const target = CONDITIONS.indexOf(r.condition.replace('_', '-') as (typeof CONDITIONS)[number]);
        if (target < 0 || !Array.isArray(r.bands) || r.bands.length !== FEATURES - 3) return null;
        const features = featuresOf(r);
        if (!features.every(Number.isFinite)) return null;
        return { features, target, timestampMs: r.timestampMs, id: `${r.machineId}@${r.timestampMs}` };
      },
      featureShape: [FEATURES],
      classes: CONDITIONS.length,
      window: { records: 3000 },
      start: 'earliest',
    },
    // Every condition at the plant's own speeds, loads and sensors: would its model recognise a
    // fault if it happened here? Never trained on.
    holdout: ({ tf, silo, config, batchSize }) => {
      const plant = plantOf(silo);
      const seed = Number(config.holdoutSeed) * 1000 + PLANTS.indexOf(plant);
      const readings = holdoutReadings(plant, Number(config.holdoutPerCondition), seededRandom(seed));
      return arrayBatches(
        tf,
        {
          features: Float32Array.from(readings.flatMap(featuresOf)),
          featureShape: [FEATURES],
          labels: readings.map((r) => CONDITIONS.indexOf(r.condition)),
          classes: CONDITIONS.length,
        },
        { batchSize, seed: null },
      );
    },
  },
  defaults: {
    bufferSize: 3,
    concurrency: 4,
    maxStaleness: 30,
    localSteps: 20,
    batchSize: 32,
    learningRate: 0.1,
    federatedEvaluateEvery: 5,
    maxWallSeconds: 150,
  },
});
