/**
 * The one place Kafka clients are built. Services receive what this returns; tests pass their own
 * brokers. Limits here agree with lib/core/limits.ts and the broker configuration.
 */
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { MAX_RECORD_BYTES } from '../core/limits.js';
import type { Logger } from '../log.js';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: Logger;
  readonly overrides?: Partial<KafkaConfig>;
}

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(options: KafkaClientOptions): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const logger = options.logger;
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    // kafkajs logs coordinator-loading errors at ERROR and retries them; WARN keeps real problems.
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      logger?.[LEVEL_NAMES[entry.level] ?? 'info']('kafkajs', {
        namespace: entry.namespace,
        message,
        ...rest,
      });
    },
    retry: { initialRetryTime: 100, retries: 8 },
    ...options.overrides,
  });
}

/** Topic configs every Tributary topic carries so large records pass end to end. */
export const LARGE_RECORD_TOPIC_CONFIG = [{ name: 'max.message.bytes', value: String(MAX_RECORD_BYTES) }];

/** Consumer fetch sizes that admit one full-size record per partition. */
export const LARGE_RECORD_CONSUMER = {
  maxBytesPerPartition: MAX_RECORD_BYTES,
  maxBytes: 4 * MAX_RECORD_BYTES,
} as const;
