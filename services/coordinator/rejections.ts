/**
 * Rejections waiting for the next commit, bounded so that no number of them can make a commit
 * exceed the broker's limits: each record is bounded (a prefix of the original bytes, a bounded
 * message and key), the batch is bounded in count and bytes (the runner commits when it is full),
 * and it is sent in groups of at most `maxSendBytes`, each well under one record batch's limit
 * (`message.max.bytes`, 16 MiB on the topics Tributary creates). Pure: sizes are of encoded bytes.
 */
import { createHash } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { isTributaryError, TributaryError } from '../../lib/core/errors.js';
import { groupBySize } from '../../lib/kafka/publish.js';
import type { ModelUpdate, RejectedUpdate } from '../../lib/wire/schemas.js';

export interface RejectionLimits {
  /** Bytes of the rejected record kept for inspection. */
  readonly originalBytesKept: number;
  readonly maxMessageChars: number;
  readonly maxKeyBytes: number;
  /** Commit once this many rejections wait... */
  readonly maxBatchCount: number;
  /** ...or once they take this many bytes. */
  readonly maxBatchBytes: number;
  /** Bytes per send (one record batch on the rejected topic). */
  readonly maxSendBytes: number;
}

export const DEFAULT_REJECTION_LIMITS: RejectionLimits = Object.freeze({
  originalBytesKept: 64 * 1024,
  maxMessageChars: 1024,
  maxKeyBytes: 512,
  maxBatchCount: 1000,
  maxBatchBytes: 8 * 1024 * 1024,
  maxSendBytes: 2 * 1024 * 1024,
});

export interface EncodedRejection {
  readonly key: string;
  readonly value: Buffer;
}

/** A key short enough to hash and log: itself, or `sha256:<hex>` of it. */
export function boundedKey(key: string, maxBytes: number): string {
  if (Buffer.byteLength(key, 'utf8') <= maxBytes) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function boundedMessage(message: string, maxChars: number): string {
  return message.length <= maxChars ? message : `${message.slice(0, maxChars - 1)}…`;
}

const sizeOf = (r: EncodedRejection) => r.value.length + Buffer.byteLength(r.key);

export class RejectionBatch {
  private records: EncodedRejection[] = [];
  private bytes = 0;

  constructor(private readonly limits: RejectionLimits) {}

  /** Adds the rejection of `failure`, encoded by `encode`; returns it. */
  addFailure(
    failure: RecordFailure,
    context: { jobId: string; topic: string; nowMs: number },
    encode: (rejection: RejectedUpdate) => Buffer,
  ): RejectedUpdate {
    const rejection = rejectionOf(failure, { ...context, limits: this.limits });
    this.add({ key: rejection.updateId ?? '', value: encode(rejection) });
    return rejection;
  }

  add(rejection: EncodedRejection): void {
    this.records.push(rejection);
    this.bytes += sizeOf(rejection);
  }

  get count(): number {
    return this.records.length;
  }

  get full(): boolean {
    return this.records.length >= this.limits.maxBatchCount || this.bytes >= this.limits.maxBatchBytes;
  }

  /** The waiting rejections in groups of at most maxSendBytes (a record larger than that goes alone). */
  groups(): EncodedRejection[][] {
    return groupBySize(this.records, sizeOf, this.limits.maxSendBytes);
  }

  /** After a commit: the batch is recorded. */
  clear(): void {
    this.records = [];
    this.bytes = 0;
  }
}

/** A record that could not be taken: where it was, what it was (as far as known), and why. */
export interface RecordFailure {
  readonly partition: number;
  readonly offset: number;
  readonly message: KafkaMessage | null;
  readonly record?: ModelUpdate;
  readonly key?: string;
  readonly error: unknown;
}

/** The bounded RejectedUpdate for a failure, and the key it is recorded under. Pure. */
export function rejectionOf(
  failure: RecordFailure,
  context: { jobId: string; topic: string; limits: RejectionLimits; nowMs: number },
): RejectedUpdate {
  const { limits } = context;
  const { partition, offset, message, record, error } = failure;
  const coded = isTributaryError(error)
    ? error
    : new TributaryError('TRIB_DECODE_FAILED', `unexpected failure: ${String(error)}`, { cause: error });
  const value = message?.value ?? Buffer.alloc(0);
  const rawKey = message?.key
    ? message.key.subarray(0, limits.maxKeyBytes * 4).toString('utf8')
    : failure.key;
  return {
    jobId: context.jobId,
    code: coded.code,
    message: boundedMessage(coded.message, limits.maxMessageChars),
    updateId: boundedKey(record?.updateId ?? rawKey ?? `${partition}:${offset}`, limits.maxKeyBytes),
    workerId: record ? boundedKey(record.workerId, limits.maxKeyBytes) : null,
    source: { topic: context.topic, partition, offset },
    originalBytes: value.subarray(0, limits.originalBytesKept),
    originalSize: value.length,
    rejectedAtMs: context.nowMs,
  };
}
