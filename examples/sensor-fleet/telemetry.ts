/**
 * The plants' side: each plant publishes its machines' readings to its own topic,
 * `<plant>.telemetry`, Avro under its own registered schema, as a plant's data platform would
 * (its own producer and registry client; Tributary only reads the topic). Real time, with time
 * compressed in the physics (faults develop in tens of seconds).
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { seededRandom } from 'tributary';
import {
  BANDS,
  CONDITIONS,
  PlantSimulation,
  type Condition,
  type PlantProfile,
  type Reading,
} from './physics.js';

export const TELEMETRY_SCHEMA = {
  type: 'record',
  name: 'MachineReading',
  namespace: 'plant.telemetry',
  doc: `One reading of one machine: operating point, temperature and ${BANDS} order-band vibration energies (log10).`,
  fields: [
    { name: 'timestampMs', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'machineId', type: 'string' },
    { name: 'speedRpm', type: 'double' },
    { name: 'load', type: 'double' },
    { name: 'temperatureC', type: 'double' },
    { name: 'bands', type: { type: 'array', items: 'double' } },
    {
      name: 'condition',
      type: { type: 'enum', name: 'Condition', symbols: CONDITIONS.map((c) => c.replace('-', '_')) },
    },
  ],
};

/**
 * Readings kept per plant while sends fail (17 minutes of the largest plant's, 12 machines at 4 a
 * second); older ones are dropped. Sent again SEND_SLICE at a time (~200 bytes each).
 */
const MAX_UNSENT = 50_000;
const SEND_SLICE = 2_000;

/** Enum symbols cannot hold '-': outer_race on the wire, outer-race in the physics. */
export const conditionOf = (symbol: string) => symbol.replace('_', '-') as Condition;

export interface TelemetryOptions {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  readonly plants: readonly PlantProfile[];
  /** Tags the topics (the task's `run` config must match): a run never reads another's readings. */
  readonly run?: string;
  readonly seed: number;
  /** One reading per machine every tickMs. */
  readonly tickMs: number;
  /** A fault kind that appears at one plant at a time (drift). */
  readonly emerging?: { plant: string; condition: Exclude<Condition, 'normal'>; atMs: number; share: number };
}

export interface Telemetry {
  /** Readings the broker acknowledged, per plant. */
  readonly published: Record<string, number>;
  /** Readings given up on, per plant: the oldest, past MAX_UNSENT waiting after failed sends. */
  readonly dropped: Record<string, number>;
  /** Readings made per plant and condition (published, waiting to be, or dropped). */
  readonly byCondition: Record<string, Record<string, number>>;
  stop(): Promise<void>;
}

/** `<plant>.telemetry`, or `<plant>.telemetry.<run>` for a run of its own on a shared cluster. */
export const telemetryTopic = (plant: string, run = '') => `${plant}.telemetry${run ? `.${run}` : ''}`;

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: 'plant-telemetry',
    logLevel: logLevel.WARN,
  });
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const topics = options.plants
    .map((p) => telemetryTopic(p.name, options.run))
    .filter((t) => !existing.has(t));
  if (topics.length > 0)
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: -1 })),
      waitForLeaders: true,
    });
  await admin.disconnect();

  const registry = new SchemaRegistry({ host: options.registryUrl });
  const ids = new Map<string, number>();
  for (const plant of options.plants) {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(TELEMETRY_SCHEMA) },
      { subject: `${telemetryTopic(plant.name, options.run)}-value` },
    );
    ids.set(plant.name, id);
  }
  const producer = kafka.producer();
  await producer.connect();

  const start = Date.now();
  const simulations = options.plants.map(
    (plant, i) => new PlantSimulation(plant, seededRandom(options.seed * 100 + i), start),
  );
  const emerging = options.emerging;
  if (emerging)
    simulations
      .find((s) => s.plant.name === emerging.plant)
      ?.emerge(emerging.condition, emerging.atMs, emerging.share);
  const published: Record<string, number> = {};
  const dropped: Record<string, number> = {};
  const byCondition: Record<string, Record<string, number>> = {};
  // Readings a failed send left behind (a leader lost mid-send), sent again ahead of the next
  // tick's: at least once, as a plant's platform would want its data (a send that failed after the
  // broker wrote part of it writes that part twice).
  const unsent = new Map<string, Message[]>();
  const sendPlant = async (name: string, readings: readonly Reading[]) => {
    const fresh = await Promise.all(
      readings.map(async (r) => ({
        key: r.machineId,
        timestamp: String(r.timestampMs),
        value: await registry.encode(ids.get(name) ?? 0, { ...r, condition: r.condition.replace('-', '_') }),
      })),
    );
    let waiting = [...(unsent.get(name) ?? []), ...fresh];
    unsent.delete(name);
    try {
      // In slices: after a long outage, one send of everything would pass the broker's batch limit.
      while (waiting.length > 0) {
        const slice = waiting.slice(0, SEND_SLICE);
        await producer.send({ topic: telemetryTopic(name, options.run), messages: slice });
        published[name] = (published[name] ?? 0) + slice.length;
        waiting = waiting.slice(slice.length);
      }
    } catch (error) {
      const overflow = Math.max(0, waiting.length - MAX_UNSENT);
      if (overflow > 0) dropped[name] = (dropped[name] ?? 0) + overflow;
      unsent.set(name, waiting.slice(overflow));
      console.error(
        `telemetry: send failed, ${waiting.length - overflow} readings of ${name} wait for the next: ${(error as Error).message}`,
      );
    }
  };
  let sending: Promise<unknown> = Promise.resolve();
  const tick = () => {
    const now = Date.now();
    const batches = simulations.map((simulation) => {
      const name = simulation.plant.name;
      const readings = simulation.tick(now);
      const counts = (byCondition[name] ??= {});
      for (const r of readings) counts[r.condition] = (counts[r.condition] ?? 0) + 1;
      return { name, readings };
    });
    // One send at a time: a slow broker delays readings, it never piles up sends.
    sending = sending
      .then(() => Promise.all(batches.map(({ name, readings }) => sendPlant(name, readings))))
      .catch((error: unknown) => console.error(`telemetry: ${(error as Error).message}`));
  };
  const timer = setInterval(tick, options.tickMs);
  return {
    published,
    dropped,
    byCondition,
    async stop() {
      clearInterval(timer);
      await sending;
      await producer.disconnect();
    },
  };
}
