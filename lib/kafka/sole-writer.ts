/**
 * Where a transactional producer's next records must land in a partition nothing else writes
 * (the coordinator's `models`): right after its last committed records and their commit marker.
 *
 * Why: a client retry can put one send's records in the partition twice within one transaction,
 * and the commit then makes both copies visible. A CI run of three-brokers.test.ts found one step's
 * model at two consecutive offsets of one transaction, 9.7 s apart, with no restart between. How is
 * not established: kafkajs sending them again under new sequence numbers (its answer then names the
 * partition twice: requireWritten in ./publish.ts), or the new leader taking a retried batch for
 * new (its answer then gives the copy's offset, past where the records had to go: this). Either way
 * the step refuses the answer and aborts, which removes both copies. Pure: the step reports each
 * answer and each commit or abort.
 */
import type { RecordMetadata } from 'kafkajs';
import { TributaryError } from '../core/errors.js';

export class SoleWriterOffsets {
  /** Per `topic[partition]`: the offset its next records must take, once known. */
  private readonly next = new Map<string, number>();
  /** The same within the transaction under way. */
  private readonly pending = new Map<string, number>();

  /** `topics`: single-partition topics only this producer writes, every write through `written`. */
  constructor(private readonly topics: ReadonlySet<string>) {}

  /**
   * Checks one send's answer, `counts` being the records it sent per topic. Throws
   * TRIB_SEND_DUPLICATED when records landed anywhere but where they had to go.
   */
  written(answer: readonly RecordMetadata[], counts: ReadonlyMap<string, number>): void {
    for (const { topicName, partition, baseOffset } of answer) {
      if (!this.topics.has(topicName)) continue;
      const key = `${topicName}[${partition}]`;
      const base = Number(baseOffset ?? NaN);
      if (!Number.isSafeInteger(base) || base < 0) {
        // An answer without an offset says nothing of where the records went, nor where the next go.
        this.pending.delete(key);
        this.next.delete(key);
        continue;
      }
      const expected = this.pending.get(key) ?? this.next.get(key);
      if (expected !== undefined && base !== expected)
        throw new TributaryError(
          'TRIB_SEND_DUPLICATED',
          `records sent to ${key} landed at offset ${base}, not ${expected}: something else was written there since (a client retry writing them twice)`,
        );
      this.pending.set(key, base + (counts.get(topicName) ?? 0));
    }
  }

  /** The transaction committed: each partition it wrote now ends with a commit marker. */
  committed(): void {
    for (const [key, end] of this.pending) this.next.set(key, end + 1);
    this.pending.clear();
  }

  /** The transaction aborted, or its outcome is unknown: where the next records land is unknown. */
  abandoned(): void {
    for (const key of this.pending.keys()) this.next.delete(key);
    this.pending.clear();
  }
}
