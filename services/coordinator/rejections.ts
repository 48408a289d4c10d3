/**
 * Rejections waiting for the next commit, bounded so that no number of them can make a commit
 * exceed the broker's limits: each record is bounded (a prefix of the original bytes, a bounded
 * message and key), the batch is bounded in count and bytes (the runner commits when it is full),
 * and it is sent in groups of at most `maxSendBytes`, each well under one record batch's limit
 * (`message.max.bytes`, 16 MiB on the topics Tributary creates). Pure: sizes are of encoded bytes.
 */
import { createHash } from 'node:crypto';
import { groupBySize } from '../../lib/kafka/publish.js';

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
