/**
 * From one `updates` record to a whole ModelUpdate ready to fold, or to the reason it is rejected
 * (docs/hostile-input.md): key, replay cursor, chunk expiry, decode under a watchdog (with registry
 * outages told from bad schema ids), envelope checks, reassembly. Nothing here folds or commits;
 * the runner does, in its serial chain.
 */
import type { KafkaMessage } from 'kafkajs';
import { settleWithin } from '../../lib/core/deadline.js';
import { isTributaryError, TributaryError, WireError } from '../../lib/core/errors.js';
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { Logger } from '../../lib/log.js';
import { VerifiedSignatures, verifyUpdate } from '../../lib/security/signing.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import { checkEnvelope, checkKey } from '../../lib/wire/update-checks.js';
import { checkAttribution } from './attribution.js';
import type { CoordinatorConfig } from './config.js';
import type { LeaseBook } from './leases.js';
import type { ReplayCursor } from './cursor.js';
import { UpdateReassembly } from './reassembly.js';
import type { RecordFailure } from './rejections.js';
export type { RecordFailure } from './rejections.js';

/** How many times a schema lookup may fail while the registry answers for our own schema. */
const LOOKUP_FAILURES_BEFORE_BLAME = 3;

/** A record (or a held chunked update, `message` null) that ends rejected. */

export type IntakeOutcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'held' }
  | { readonly kind: 'whole'; readonly update: ModelUpdate; readonly key: string }
  | { readonly kind: 'failed'; readonly failure: RecordFailure };

export interface IntakeDeps {
  readonly serde: AvroSerde;
  readonly layout: ModelLayout;
  /** `signatures`: which silos' keys, and whether unsigned updates are refused. */
  readonly config: Pick<CoordinatorConfig, 'reassembly' | 'recordTimeoutMs' | 'signatures'>;
  readonly log: Logger;
  readonly now: () => number;
  /** A schema id known to exist (to tell a registry outage from a bad id). */
  readonly knownSchemaId: () => number;
  /** To check a verified update answers its own worker's task (./attribution.ts); only read. */
  readonly leases: Pick<LeaseBook, 'leases' | 'workers'>;
}

export class UpdateIntake {
  /** Next offset to read per `updates` partition. */
  readonly consumed = new Map<number, number>();
  readonly reassembly: UpdateReassembly;
  /** Chunks of one update repeat its signature: verified once. */
  private readonly verified = new VerifiedSignatures();
  /** From the restored checkpoint: records below these offsets were already handled. */
  replay: ReplayCursor = { partitions: new Map(), heldKeys: new Set() };

  constructor(private readonly deps: IntakeDeps) {
    this.reassembly = new UpdateReassembly({
      ...deps.config.reassembly,
      maxPayloadBytes: deps.layout.size * 4, // FLOAT32, the widest encoding
    });
  }

  /** One record; `expired` lists held chunked updates this record's position put past their span. */
  async read(
    partition: number,
    message: KafkaMessage,
  ): Promise<{ outcome: IntakeOutcome; expired: RecordFailure[] }> {
    const offset = Number(message.offset);
    const seen = this.consumed.get(partition);
    // A re-delivery of a record this process already handled.
    if (seen !== undefined && offset < seen) return { outcome: { kind: 'skipped' }, expired: [] };
    this.consumed.set(partition, offset + 1);
    const atMs = this.deps.now();
    let key: string | undefined;
    let record: ModelUpdate | undefined;
    let verified = false;
    let expired: RecordFailure[] = [];
    try {
      key = checkKey(message.key);
      if (this.alreadyHandled(partition, offset, key)) return { outcome: { kind: 'skipped' }, expired };
      expired = this.expire(atMs, { partition, offset });
      record = await this.decode(message.value);
      // Before every other check: a record that fails here must not touch what an honest record
      // with the same key or task holds (a chunk in reassembly, a lease, a duplicate entry).
      checkAttribution(
        record,
        verifyUpdate(record, this.deps.config.signatures, this.verified),
        this.deps.leases,
      );
      verified = true;
      checkEnvelope(key, record, this.deps.layout);
      const whole = this.reassembly.accept(partition, offset, key, record, atMs);
      return { outcome: whole ? { kind: 'whole', update: whole, key } : { kind: 'held' }, expired };
    } catch (error) {
      if (verified && record?.chunk && key !== undefined) this.reassembly.drop(key);
      return {
        outcome: { kind: 'failed', failure: { partition, offset, message, record, key, error } },
        expired,
      };
    }
  }

  /** Held chunked updates past their span (at `position`) or age (at `nowMs`), as failures. */
  expire(nowMs: number, position?: { partition: number; offset: number }): RecordFailure[] {
    return this.reassembly
      .expire(nowMs, position)
      .map((e) => ({ partition: e.partition, offset: e.offset, message: null, key: e.key, error: e.error }));
  }

  /** A record a restored checkpoint already reflects (folded, rejected, or part of a finished update). */
  private alreadyHandled(partition: number, offset: number, key: string): boolean {
    const handledUpTo = this.replay.partitions.get(partition);
    return handledUpTo !== undefined && offset < handledUpTo && !this.replay.heldKeys.has(key);
  }

  /**
   * Decodes one update under a watchdog. A registry that does not answer is waited for (it is not
   * the record's fault); a lookup that keeps failing while the registry answers for our own schema
   * is the record's fault.
   */
  private async decode(value: Buffer | null): Promise<ModelUpdate> {
    const { serde, config, log } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        return await withWatchdog(serde.decode('ModelUpdate', value), config.recordTimeoutMs);
      } catch (error) {
        if (!isTributaryError(error, 'TRIB_REGISTRY_UNAVAILABLE')) throw error;
        const registryUp = await serde.registryAnswers(this.deps.knownSchemaId());
        if (registryUp && attempt >= LOOKUP_FAILURES_BEFORE_BLAME)
          throw new WireError(
            'TRIB_UNKNOWN_SCHEMA',
            `the registry answers, but not for this record's schema: ${error.message}`,
            { cause: error },
          );
        log.warn('registry-unavailable-retrying', { attempt, registryUp });
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }
}

/** `work`, or TRIB_RECORD_TIMEOUT once `ms` pass (the work is abandoned; it has no side effects). */
function withWatchdog<T>(work: Promise<T>, ms: number): Promise<T> {
  return settleWithin(
    work,
    ms,
    () => new TributaryError('TRIB_RECORD_TIMEOUT', `decoding one record took longer than ${ms} ms`),
  );
}
