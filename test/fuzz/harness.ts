/**
 * The coordinator's per-record path without Kafka, in the runner's order: key check, frame, schema
 * id, Avro bounds check and decode, envelope checks, chunk reassembly, fold. Schema ids resolve from
 * a local table instead of a registry (an id missing from it is TRIB_UNKNOWN_SCHEMA, as a 404 is).
 */
import type avro from 'avsc';
import { isTributaryError, WireError, type ErrorCode } from '../../lib/core/errors.js';
import type { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import { checkAvroBounds } from '../../lib/wire/avro-bounds.js';
import { unframe } from '../../lib/wire/confluent.js';
import { toFoldInput } from '../../lib/wire/records.js';
import { decodePayload, decoderOf } from '../../lib/wire/serde.js';
import { checkEnvelope, checkKey } from '../../lib/wire/update-checks.js';
import { UpdateReassembly } from '../../services/coordinator/reassembly.js';

export type Outcome =
  | { readonly kind: 'folded'; readonly norm: number; readonly clipFactor: number; readonly flushed: boolean }
  | { readonly kind: 'held' }
  | { readonly kind: 'rejected'; readonly code: ErrorCode }
  | { readonly kind: 'crashed'; readonly error: unknown };

export interface ScanWork {
  /** Payload bytes, and the scan's steps and items for records whose schema id resolved. */
  readonly bytes: number;
  readonly steps: number;
  readonly items: number;
}

export class RecordPath {
  readonly work: ScanWork[] = [];
  private offset = 0;

  constructor(
    readonly aggregator: FedBuffAggregator,
    readonly reassembly: UpdateReassembly,
    private readonly writers: ReadonlyMap<number, avro.Type>,
  ) {}

  handle(key: Buffer | null, value: Buffer): Outcome {
    const offset = this.offset++;
    try {
      const keyText = checkKey(key);
      const { schemaId, payload } = unframe(value);
      const writer = this.writers.get(schemaId);
      if (!writer) throw new WireError('TRIB_UNKNOWN_SCHEMA', `schema id ${schemaId} is unknown`);
      const decoder = decoderOf('ModelUpdate', schemaId, writer);
      try {
        const report = checkAvroBounds(writer, payload);
        this.work.push({ bytes: payload.length, ...report });
      } catch {
        this.work.push({ bytes: payload.length, steps: 0, items: 0 });
      }
      const record = decodePayload('ModelUpdate', decoder, schemaId, payload);
      checkEnvelope(keyText, record, this.aggregator.layout);
      const whole = this.reassembly.accept(0, offset, keyText, record, 0);
      if (!whole) return { kind: 'held' };
      const outcome = this.aggregator.fold(toFoldInput(whole, this.aggregator.stagingArea));
      return {
        kind: 'folded',
        norm: outcome.update.norm,
        clipFactor: outcome.update.clipFactor,
        flushed: outcome.flush !== null,
      };
    } catch (error) {
      return isTributaryError(error) ? { kind: 'rejected', code: error.code } : { kind: 'crashed', error };
    }
  }
}
