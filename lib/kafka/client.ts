/**
 * The one place Kafka clients are built. Services receive what this returns; tests pass their own
 * brokers. Limits here agree with lib/core/limits.ts and the broker configuration.
 */
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { TributaryError } from '../core/errors.js';
import { MAX_RECORD_BYTES } from '../core/limits.js';
import type { Logger } from '../log.js';
import { fixKafkajsRequestQueue } from './kafkajs-request-queue.js';
import { kafkaSecurityOptions, type KafkaSecurity } from '../security/client.js';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger?: Logger;
  /** SASL and TLS; absent or open: plaintext without authentication. */
  readonly security?: KafkaSecurity;
  readonly overrides?: Partial<KafkaConfig>;
}

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs's warning for idempotent producers with a retry limit (see the log creator below). */
export const RETRY_LIMIT_WARNING =
  'Limiting retries for the idempotent producer may invalidate EoS guarantees';

export function createKafka(options: KafkaClientOptions): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  // Without it each connection wakes its process every millisecond (./kafkajs-request-queue.ts).
  fixKafkajsRequestQueue();
  const logger = options.logger;
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    // kafkajs logs coordinator-loading errors at ERROR and retries them; WARN keeps real problems.
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      // Said of every producer with a retry limit: not so of Tributary's, which are renewed after
      // any failed send (./renewing-producer.ts explains the hazard and why renewal removes it).
      if (message === RETRY_LIMIT_WARNING) return;
      logger?.[LEVEL_NAMES[entry.level] ?? 'info']('kafkajs', {
        namespace: entry.namespace,
        message,
        ...rest,
      });
    },
    retry: { initialRetryTime: 100, retries: 8 },
    ...(options.security ? kafkaSecurityOptions(options.security) : {}),
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

const AUTHORIZATION_ERROR_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/**
 * A Kafka client error as the typed error an operator can act on: refused credentials or a failed
 * TLS handshake are TRIB_AUTHENTICATION_FAILED, a missing ACL TRIB_AUTHORIZATION_FAILED; anything
 * else is returned as it was.
 */
export function explainKafkaError(error: unknown, brokers: readonly string[] = []): unknown {
  const chain: { name?: string; type?: string; code?: string; message?: string }[] = [];
  for (
    let e: unknown = error;
    e && typeof e === 'object' && chain.length < 6;
    e = (e as { cause?: unknown }).cause
  )
    chain.push(e as (typeof chain)[number]);
  const at = brokers.length > 0 ? brokers.join(',') : 'the cluster';
  for (const e of chain) {
    if (e.name === 'KafkaJSSASLAuthenticationError')
      return new TributaryError(
        'TRIB_AUTHENTICATION_FAILED',
        `Kafka (${at}) refused the SASL credentials: ${e.message}`,
        { cause: error },
      );
    // kafkajs drops FindCoordinator's GROUP_AUTHORIZATION_FAILED and says only this; the other
    // non-retriable answer, INVALID_GROUP_ID, cannot come from Tributary's own group names.
    if (e.name === 'KafkaJSGroupCoordinatorNotFound')
      return new TributaryError(
        'TRIB_AUTHORIZATION_FAILED',
        `Kafka (${at}) refused to name a coordinator for the consumer group: no ACL lets this principal use the group`,
        { cause: error },
      );
    if (e.type !== undefined && AUTHORIZATION_ERROR_TYPES.has(e.type))
      return new TributaryError(
        'TRIB_AUTHORIZATION_FAILED',
        `Kafka (${at}) denied the operation (${e.type}): ${e.message}`,
        { cause: error },
      );
    if (
      e.code !== undefined &&
      /^(ERR_TLS|ERR_SSL|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_VERIFY|CERT_)/.test(e.code)
    )
      return new TributaryError(
        'TRIB_AUTHENTICATION_FAILED',
        `TLS to Kafka (${at}) failed (${e.code}): ${e.message}`,
        { cause: error },
      );
  }
  return error;
}
