/**
 * What a worker sends on its own, one logical record at a time: check-ins, single-record updates
 * and evaluation reports, each written idempotently with acks=all and awaited. Two clients stand
 * behind it: kafkajs (always there) and librdkafka (./librdkafka.ts, when its native addon loads),
 * whose producer costs a fraction of kafkajs's CPU per send (bench pipeline). Multi-record updates
 * and the coordinator's events stay on kafkajs; the coordinator's server steps, and its tasks with
 * them, take librdkafka only when it is asked for by name (./librdkafka-transactions.ts,
 * docs/native-kafka.md).
 */
import type { Kafka } from 'kafkajs';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../log.js';
import type { KafkaSecurity } from '../security/client.js';
import { librdkafkaSender, loadLibrdkafka, type NativeKafka } from './librdkafka.js';
import { sendOne } from './publish.js';
import { renewingProducer } from './renewing-producer.js';

export interface OutgoingRecord {
  readonly key: string;
  readonly value: Buffer;
}

export const KAFKA_CLIENTS = ['kafkajs', 'librdkafka'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export interface RecordSender {
  readonly client: KafkaClientName;
  connect(): Promise<void>;
  /**
   * Writes `records` to `topic` (partitioned by key as Java's and kafkajs's default partitioner
   * does: murmur2) and resolves once every one is acknowledged by all in-sync replicas. After a
   * failed send the next one goes through a new producer (./renewing-producer.ts says why).
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** kafkajs's idempotent producer, renewed after a failed send. */
export function kafkajsSender(kafka: Kafka, log?: Logger): RecordSender {
  const producer = renewingProducer(
    () => kafka.producer({ idempotent: true, maxInFlightRequests: 1 }),
    (error) => log?.warn('producer-renewed', { error }),
  );
  return {
    client: 'kafkajs',
    connect: () => producer.connect(),
    send: async (topic, records) => {
      await sendOne(producer, topic, [...records]);
    },
    disconnect: () => producer.disconnect(),
  };
}

/** `auto`: librdkafka when its addon loads here, else kafkajs. */
export type KafkaClientChoice = 'auto' | KafkaClientName;

export interface SenderOptions {
  readonly choice: KafkaClientChoice;
  /** The process's kafkajs client (brokers, security and client id are taken from the options below). */
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly security?: KafkaSecurity;
  readonly logger?: Logger;
}

/**
 * The sender `options.choice` asks for. Throws TRIB_CONFIG_INVALID when librdkafka is asked for by
 * name and does not load; `auto` falls back to kafkajs and says why in `fallback`.
 */
export function createRecordSender(options: SenderOptions): {
  sender: RecordSender;
  version: string | null;
  fallback: string | null;
} {
  const { native, fallback } = librdkafkaFor(options.choice);
  if (native) return { sender: librdkafkaSender(native, options), version: native.version, fallback: null };
  return { sender: kafkajsSender(options.kafka, options.logger), version: null, fallback };
}

/**
 * The librdkafka addon when `choice` takes it, else null (kafkajs), with why when `auto` fell back.
 * Throws TRIB_CONFIG_INVALID when librdkafka is asked for by name and does not load.
 */
export function librdkafkaFor(choice: KafkaClientChoice): {
  native: NativeKafka | null;
  fallback: string | null;
} {
  if (choice === 'kafkajs') return { native: null, fallback: null };
  const { native, problem } = loadLibrdkafka();
  if (native) return { native, fallback: null };
  if (choice === 'librdkafka')
    throw new ConfigError([`TRIBUTARY_KAFKA_CLIENT: librdkafka was asked for, but ${problem}`]);
  return { native: null, fallback: problem };
}
