/**
 * librdkafka (@confluentinc/kafka-javascript, its KafkaJS-style API) as a RecordSender. The addon
 * is native and not a dependency: a user installs it beside Tributary, or
 * infra/kafka-native/ensure-native.sh builds it into `.cache/kafka-native` of a clone, where this
 * also looks. Only the producer is used, with the settings that keep its records where kafkajs and
 * Java would put them and its writes exactly once: idempotence (acks=all), the murmur2
 * partitioner, and a bounded delivery time.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { MAX_RECORD_BYTES } from '../core/limits.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT } from '../run/processes.js';
import type { KafkaSecurity } from '../security/client.js';
import { Renewal } from './renewing-producer.js';
import type { OutgoingRecord, RecordSender } from './sender.js';

const MODULE = '@confluentinc/kafka-javascript';
/** Where infra/kafka-native/ensure-native.sh installs the addon in a clone. */
export const NATIVE_KAFKA_DIR = join(PACKAGE_ROOT, '.cache', 'kafka-native');

/** A send that is still unacknowledged after this long fails (librdkafka's message.timeout.ms). */
export const DELIVERY_TIMEOUT_MS = 60_000;

interface RdProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: { key: string; value: Buffer }[] }): Promise<unknown>;
}
interface RdLogger {
  info(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
  debug(message: string, extra?: object): void;
  namespace(): RdLogger;
  setLogLevel(level: number): void;
}
/** librdkafka's KafkaJS-style client: the producer (./librdkafka-transactions.ts adds the consumer it needs). */
export interface RdKafka {
  producer(config: Record<string, unknown>): RdProducer;
}
interface RdKafkaModule {
  readonly librdkafkaVersion: string;
  readonly KafkaJS: { Kafka: new (config: Record<string, unknown>) => RdKafka };
}

export interface NativeKafka {
  readonly module: RdKafkaModule;
  readonly version: string;
  /** Where it was loaded from. */
  readonly from: string;
}

let loaded: { native: NativeKafka | null; problem: string } | undefined;

/** The addon, or null with why not (not installed, or built for another Node). Loaded once. */
export function loadLibrdkafka(): { native: NativeKafka | null; problem: string } {
  if (loaded) return loaded;
  const problems: string[] = [];
  for (const from of [import.meta.url, join(NATIVE_KAFKA_DIR, 'package.json')]) {
    try {
      const load = createRequire(from);
      const module = load(MODULE) as RdKafkaModule;
      mendErrorMapping(load);
      loaded = { native: { module, version: module.librdkafkaVersion, from }, problem: '' };
      return loaded;
    } catch (error) {
      problems.push(`${from}: ${String((error as Error).message).split('\n')[0]}`);
    }
  }
  loaded = { native: null, problem: `${MODULE} does not load (${problems.join('; ')})` };
  return loaded;
}

/**
 * @confluentinc/kafka-javascript (1.10.1) turns librdkafka's COORDINATOR_NOT_AVAILABLE (error 15)
 * into a `KafkaJSGroupCoordinatorNotAvailableError` that its error module does not define. The
 * TypeError is thrown where the call's promise should have been rejected, so the promise never
 * settles, and the throw ends the process as an unhandled rejection. That is how a coordinator
 * stepping through librdkafka died when the broker holding its transaction and group coordinators
 * was killed (test/integration/three-brokers.test.ts). The missing name is bound to the class the
 * mapping meant, KafkaJSGroupCoordinatorNotFound; a release that defines it is left as it is.
 */
export function mendErrorMapping(load: NodeRequire): void {
  const errors = load(`${MODULE}/lib/kafkajs/_error.js`) as Record<string, unknown>;
  errors.KafkaJSGroupCoordinatorNotAvailableError ??= errors.KafkaJSGroupCoordinatorNotFound;
}

/** librdkafka's names for Tributary's client security settings. */
export function librdkafkaSecurity(security: KafkaSecurity | undefined): Record<string, string> {
  if (!security || (!security.sasl && !security.tls)) return {};
  const { sasl, tls } = security;
  const settings: Record<string, string> = {
    'security.protocol': sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl',
  };
  if (sasl) {
    settings['sasl.mechanisms'] = sasl.mechanism;
    settings['sasl.username'] = sasl.username;
    settings['sasl.password'] = sasl.password;
  }
  if (tls?.caFile) settings['ssl.ca.location'] = tls.caFile;
  if (tls?.certFile) settings['ssl.certificate.location'] = tls.certFile;
  if (tls?.keyFile) settings['ssl.key.location'] = tls.keyFile;
  return settings;
}

const LOG_LEVEL_WARN = 2;

function logAdapter(log: Logger | undefined): RdLogger {
  const entry =
    (level: 'info' | 'warn' | 'error' | 'debug') =>
    (message: string, extra?: object): void =>
      log?.[level]('librdkafka', { message, ...extra });
  const adapter: RdLogger = {
    info: entry('info'),
    warn: entry('warn'),
    error: entry('error'),
    debug: entry('debug'),
    namespace: () => adapter,
    setLogLevel: () => undefined,
  };
  return adapter;
}

/** A KafkaJS-style librdkafka client with Tributary's brokers, client id and logger (warnings up). */
export function librdkafkaClient(native: NativeKafka, options: LibrdkafkaSenderOptions): RdKafka {
  return new native.module.KafkaJS.Kafka({
    kafkaJS: {
      brokers: [...options.brokers],
      clientId: options.clientId,
      logger: logAdapter(options.logger),
      logLevel: LOG_LEVEL_WARN,
    },
  });
}

export interface LibrdkafkaSenderOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly security?: KafkaSecurity;
  readonly logger?: Logger;
}

/** librdkafka's idempotent producer behind RecordSender; a new one after any failed send. */
export function librdkafkaSender(native: NativeKafka, options: LibrdkafkaSenderOptions): RecordSender {
  const kafka = librdkafkaClient(native, options);
  const create = (): RdProducer =>
    kafka.producer({
      ...librdkafkaSecurity(options.security),
      'enable.idempotence': true,
      acks: -1,
      // Each send is awaited on its own: waiting for company only adds latency.
      'linger.ms': 0,
      partitioner: 'murmur2_random',
      'message.max.bytes': MAX_RECORD_BYTES,
      'message.timeout.ms': DELIVERY_TIMEOUT_MS,
    });
  const renewal = new Renewal(
    create,
    (error) => options.logger?.warn('producer-renewed', { client: 'librdkafka', error }),
    false,
  );
  return {
    client: 'librdkafka',
    connect: () => renewal.open(),
    send: async (topic: string, records: readonly OutgoingRecord[]) => {
      await renewal.use((producer) =>
        producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) }),
      );
    },
    disconnect: () => renewal.close(),
  };
}
