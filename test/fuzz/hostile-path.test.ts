import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { UPDATE_REJECTION_CODES } from '../../lib/core/errors.js';
import { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import { DEFAULT_FEDBUFF, validateFedBuffConfig } from '../../lib/core/fedbuff/config.js';
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { checkAvroBounds } from '../../lib/wire/avro-bounds.js';
import { frame } from '../../lib/wire/confluent.js';
import { messageType, schemaText } from '../../lib/wire/schemas.js';
import { DEFAULT_REASSEMBLY_LIMITS, UpdateReassembly } from '../../services/coordinator/reassembly.js';
import { encodeTraced, varint } from './avro-trace.js';
import { honestUpdate, hostileCorpus, type CorpusOptions } from './corpus.js';
import { RecordPath } from './harness.js';

const layout = modelLayout('fuzz', [
  { name: 'dense/kernel', shape: [16, 4] },
  { name: 'dense/bias', shape: [4] },
]);
const SCHEMA_ID = 11;
const options = (seed: number): CorpusOptions => ({
  seed,
  layout,
  jobId: 'fuzz',
  schemaId: SCHEMA_ID,
  baseVersion: 0,
  honestNorm: 1,
});
const writers = new Map<number, avro.Type>([
  [SCHEMA_ID, messageType('ModelUpdate')],
  // An id that exists but names another message: must be refused, never decoded as an update.
  [12, messageType('TrainTask')],
  [13, avro.Type.forSchema('string')],
]);

function freshPath(): RecordPath {
  const aggregator = FedBuffAggregator.create(
    validateFedBuffConfig({ ...DEFAULT_FEDBUFF, jobId: 'fuzz', bufferSize: 4, maxStaleness: 1_000_000 }),
    layout,
    new Float32Array(layout.size).fill(0.5),
  );
  const reassembly = new UpdateReassembly({ ...DEFAULT_REASSEMBLY_LIMITS, maxPayloadBytes: layout.size * 4 });
  return new RecordPath(aggregator, reassembly, writers);
}

describe('structure-aware fuzz corpus', () => {
  it('encodes honest records byte for byte as avsc does, so its lies are made in the real format', () => {
    const type = messageType('ModelUpdate');
    for (const encoding of ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const) {
      const update = honestUpdate(options(1), 'trace', 1, encoding, {
        chunk: { index: 0, count: 2, offset: 0, totalBytes: 10, sha256: Buffer.alloc(32, 1) },
        metrics: { loss: 1, accuracy: 0.5 },
      });
      expect(encodeTraced(type, update).bytes.equals(type.toBuffer(update))).toBe(true);
    }
    expect(JSON.parse(schemaText('ModelUpdate')).name).toBe('ModelUpdate');
  });
});

describe('Avro bounds before decode (regression: a 20-byte record claiming 2^31 items)', () => {
  const type = messageType('ModelUpdate');
  const update = honestUpdate(options(1), 'bomb', 1);
  const traced = encodeTraced(type, update);
  const tensorsCount = traced.sites.find((s) => s.kind === 'count' && s.path === '$.tensors');

  it('refuses a block count larger than the bytes that remain, after a handful of steps', () => {
    // updateId, taskId, jobId, workerId, versions, then a tensors array claiming 2^31 - 1 items.
    const head = traced.bytes.subarray(0, tensorsCount?.start);
    const bomb = Buffer.concat([head, varint(2 ** 31 - 1), Buffer.from([2, 0x61])]);
    let steps = 0;
    try {
      checkAvroBounds(type, bomb);
    } catch (error) {
      expect(String(error)).toMatch(/claims 2147483647 items/);
      steps = 1;
    }
    expect(steps).toBe(1);
  });

  it('refuses zero-byte items past maxItems (an array of nulls cannot spin)', () => {
    const nulls = avro.Type.forSchema({ type: 'array', items: 'null' });
    const claim = Buffer.concat([varint(2 ** 40), varint(0)]);
    expect(() => checkAvroBounds(nulls, claim)).toThrow(/past 100000 items/);
    expect(checkAvroBounds(nulls, Buffer.concat([varint(3), varint(0)])).items).toBe(3);
  });

  it('refuses longs avsc would not decode exactly (beyond ±2^52), ints past 32 bits, and overlong varints', () => {
    const long = avro.Type.forSchema('long');
    expect(() => checkAvroBounds(long, varint(-(2n ** 60n)))).toThrow(/2\^52/);
    // Regression: −(2^53 − 1) has an odd zig-zag form that avsc rounds to an even one, decoding a
    // negative example count as a huge positive one.
    expect(() => checkAvroBounds(long, varint(-(2 ** 53 - 1)))).toThrow(/2\^52/);
    expect(() => checkAvroBounds(long, varint(2 ** 52))).toThrow(/2\^52/);
    for (const v of [-(2 ** 52), 2 ** 52 - 1, -(2 ** 52) + 1, 1_790_000_000_000, -1]) {
      expect(checkAvroBounds(long, varint(v)).steps).toBe(1);
      expect(long.fromBuffer(varint(v))).toBe(v); // what passes, avsc decodes exactly
    }
    expect(() => checkAvroBounds(long, Buffer.from([...Array(11).fill(0xff), 1]))).toThrow(/longer than 10/);
    expect(() => checkAvroBounds(avro.Type.forSchema('int'), varint(2 ** 31))).toThrow(/int/);
  });
});

describe('hostile records against the pure decode → validate → reassemble → fold path', () => {
  const seeds = [1, 2, 3];
  const perSeed = 1000;

  it(`rejects every impossible record with a code, folds nothing dishonest, and keeps training (${seeds.length * perSeed} cases)`, () => {
    const path = freshPath();
    let honest = 0;
    const feedHonest = () => {
      const version = path.aggregator.version;
      const u = honestUpdate(
        { ...options(0), baseVersion: version },
        `honest-${honest++}`,
        0.8 + (honest % 5) * 0.1,
      );
      const outcome = path.handle(
        Buffer.from(u.updateId),
        frame(SCHEMA_ID, messageType('ModelUpdate').toBuffer(u)),
      );
      expect(outcome.kind).toBe('folded');
    };
    for (let i = 0; i < 12; i++) feedHonest();
    const codes = new Map<string, number>();
    const families = new Map<string, { total: number; rejected: number }>();
    for (const seed of seeds) {
      const corpus = hostileCorpus({ ...options(seed), wrongKindSchemaIds: [12, 13] }, perSeed);
      expect(corpus.length).toBeGreaterThanOrEqual(perSeed);
      corpus.forEach((c, i) => {
        const outcome = path.handle(c.key, c.value);
        if (outcome.kind === 'crashed') throw new Error(`${c.name}: crashed with ${String(outcome.error)}`);
        const family = families.get(c.family) ?? { total: 0, rejected: 0 };
        family.total += 1;
        if (outcome.kind === 'rejected') {
          family.rejected += 1;
          expect(UPDATE_REJECTION_CODES).toContain(outcome.code);
          codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
        } else if (c.mustReject) {
          throw new Error(`${c.family} case "${c.name}" was ${outcome.kind}, not rejected`);
        }
        if (outcome.kind === 'folded') {
          // Whatever got through moved the model no more than the guard's clip allows (4 × ~1).
          expect(outcome.norm * outcome.clipFactor).toBeLessThanOrEqual(4 * 1.2 + 1e-6);
        }
        families.set(c.family, family);
        if (i % 25 === 0) feedHonest();
      });
    }
    // Bounded work: the scan visited at most a few steps per payload byte, whatever was claimed.
    for (const w of path.work) expect(w.steps).toBeLessThanOrEqual(2 * w.bytes + 64);
    // Bounded memory: what is held for incomplete chunked updates stays within the budget.
    expect(path.reassembly.size).toBeLessThanOrEqual(DEFAULT_REASSEMBLY_LIMITS.maxPending);
    expect(path.reassembly.heldBytes).toBeLessThanOrEqual(DEFAULT_REASSEMBLY_LIMITS.maxPendingBytes);
    // Training went on: honest updates kept stepping the model, which stayed finite.
    expect(path.aggregator.version).toBeGreaterThanOrEqual(Math.floor(honest / 4));
    expect(path.aggregator.model.every(Number.isFinite)).toBe(true);
    console.log(
      JSON.stringify({
        fuzz: 'pure-path',
        cases: seeds.length * perSeed,
        families: Object.fromEntries(families),
        codes: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])),
        versions: path.aggregator.version,
      }),
    );
  });
});
