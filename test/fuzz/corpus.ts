/**
 * A structure-aware corpus of hostile `updates` records, built from the ModelUpdate schema:
 *   - wire lies: one length, count, long, int, union branch or enum index of an honest record
 *     replaced by an extreme value (±2^31, ±2^53, ±2^62, overlong varints, negative block counts);
 *   - value lies: honest records whose fields claim what is not so (example counts, versions,
 *     NaN/∞, scaled deltas, quantisation blocks on the wrong encoding, shapes, ids, keys, chunk
 *     positions, metrics);
 *   - framing lies: wrong magic byte, unknown or wrong-kind schema ids, truncation, trailing bytes;
 *   - noise: byte flips in honest records, and random bytes.
 * Cases are deterministic for a seed. `mustReject` marks the ones no honest worker could send (byte
 * flips and noise may, rarely, still be a valid honest-looking record).
 */
import avro from 'avsc';
import { frame } from '../../lib/wire/confluent.js';
import { messageType, type ModelUpdate } from '../../lib/wire/schemas.js';
import { toRecords } from '../../lib/wire/records.js';
import { seededRandom, type Random } from '../../lib/core/random.js';
import { splitFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { encodeTraced, spliceSite, varint, type Site } from './avro-trace.js';

export interface HostileCase {
  readonly family: 'wire' | 'value' | 'frame' | 'noise';
  readonly name: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly mustReject: boolean;
}

export interface CorpusOptions {
  readonly seed: number;
  readonly layout: ModelLayout;
  readonly jobId: string;
  /** Registry id of the ModelUpdate schema the records are framed with. */
  readonly schemaId: number;
  /** Ids that exist but name other schemas (other messages, JSON Schema, Protobuf). */
  readonly wrongKindSchemaIds?: readonly number[];
  readonly baseVersion: number;
  /** A typical honest delta norm for this task (value lies scale deltas far above it). */
  readonly honestNorm: number;
}

const WIRE_VALUES: readonly (number | bigint)[] = [
  -1,
  -2,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2n ** 62n,
  -(2n ** 62n),
  2n ** 63n - 1n,
];

/**
 * Whether no honest record can carry this lie: a length, union branch or enum index of these
 * magnitudes never fits a record of this size, nor does a block count of 2^31 or more; an int
 * outside 32 bits or a long beyond 2^53 is never exact. (A plain long such as a timestamp set to
 * 2^31 is a valid value, and must then pass or fail on its meaning.)
 */
function wireLieIsImpossible(site: Site, magnitude: number): boolean {
  switch (site.kind) {
    case 'length':
    case 'branch':
    case 'enum':
      return true;
    case 'count':
      return magnitude >= 2 ** 31 - 1;
    case 'int':
      return magnitude > 2 ** 31;
    default:
      return magnitude > 2 ** 52;
  }
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

/** An honest update with a delta of about `norm`, in `encoding`, as one record. */
export function honestUpdate(
  options: CorpusOptions,
  updateId: string,
  norm: number,
  encoding: TensorEncoding = 'FLOAT32',
  changes: Partial<ModelUpdate> = {},
  fill?: (i: number) => number,
): ModelUpdate {
  const { layout } = options;
  const each = norm / Math.sqrt(layout.size);
  const flat = new Float32Array(layout.size).map((_, i) => (fill ? fill(i) : i % 2 === 0 ? each : -each));
  const [record] = toRecords<ModelUpdate>(
    {
      updateId,
      taskId: `task-${updateId}`,
      jobId: options.jobId,
      workerId: 'mallory',
      baseVersion: options.baseVersion,
      numExamples: 100,
      metrics: { loss: 0.5 },
      timings: { startedAtMs: 1_790_000_000_000, finishedAtMs: 1_790_000_001_000 },
    },
    splitFlat(layout, flat),
    encoding,
    1 << 30,
  );
  // Changes go on last: toRecords sets `chunk` itself, and a lie about it must survive.
  return { ...(record as ModelUpdate), ...changes };
}

function framed(options: CorpusOptions, update: ModelUpdate): Buffer {
  // Our own encoder: avsc refuses to write longs beyond ±(2^53 - 2), a hostile client need not.
  return frame(options.schemaId, encodeTraced(messageType('ModelUpdate'), update).bytes);
}

function wireLies(options: CorpusOptions, random: Random, count: number): HostileCase[] {
  const type = messageType('ModelUpdate');
  const cases: HostileCase[] = [];
  for (let i = 0; cases.length < count; i++) {
    const encoding = pick(random, ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const);
    const id = `wire-${options.seed}-${i}`;
    const chunked = random() < 0.3;
    const update = honestUpdate(options, id, options.honestNorm, encoding, {
      chunk: chunked
        ? { index: 0, count: 3, offset: 0, totalBytes: 3 * 64, sha256: Buffer.alloc(32, 7) }
        : null,
    });
    const traced = encodeTraced(type, update);
    const site = pick(random, traced.sites) as Site;
    const overlong = random() < 0.1;
    const lie = pick(random, WIRE_VALUES);
    let bytes = spliceSite(
      traced,
      site,
      overlong
        ? Buffer.from([...Array.from({ length: 10 + Math.floor(random() * 6) }, () => 0xff), 0x01])
        : varint(lie),
    );
    let magnitude = Math.abs(Number(lie));
    // A negative block count is followed by a block size in bytes: make that lie too.
    if (site.kind === 'count' && random() < 0.5) {
      const claimed = pick(random, [2 ** 31 - 1, 2 ** 53 - 1]);
      bytes = spliceSite(traced, site, Buffer.concat([varint(-claimed), varint(2 ** 40)]));
      magnitude = claimed;
    }
    cases.push({
      family: 'wire',
      name: `${site.kind} ${site.path} := ${overlong ? 'overlong' : String(lie)}`,
      key: Buffer.from(id),
      value: frame(options.schemaId, bytes),
      mustReject: overlong || wireLieIsImpossible(site, magnitude),
    });
  }
  return cases;
}

function valueLies(options: CorpusOptions, random: Random): HostileCase[] {
  const u = (
    name: string,
    changes: Partial<ModelUpdate> = {},
    norm = options.honestNorm,
    encoding: TensorEncoding = 'FLOAT32',
    fill?: (i: number) => number,
  ) => honestUpdate(options, `value-${options.seed}-${name}`, norm, encoding, changes, fill);
  const value = (
    name: string,
    update: ModelUpdate,
    key: Buffer | null = Buffer.from(update.updateId),
  ): HostileCase => ({
    family: 'value',
    name,
    key,
    value: framed(options, update),
    mustReject: true,
  });
  const quantizedOnFloat16 = u('q-on-f16', {}, options.honestNorm, 'FLOAT16');
  const int8 = u('int8-no-q', {}, options.honestNorm, 'INT8_AFFINE');
  const bigMetrics = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`m${i}`, i]));
  const longId = 'x'.repeat(600);
  const cases: HostileCase[] = [
    value('negative examples', u('neg-examples', { numExamples: -5 })),
    value('zero examples', u('zero-examples', { numExamples: 0 })),
    value('examples over the hard limit', u('huge-examples', { numExamples: 2 ** 53 - 1 })),
    value('negative base version', u('neg-version', { baseVersion: -1 })),
    value('future base version', u('future', { baseVersion: options.baseVersion + 1_000_000 })),
    value('another job', u('other-job', { jobId: `${options.jobId}-other` })),
    value(
      'NaN',
      u('nan', {}, 1, 'FLOAT32', (i) => (i === 3 ? NaN : 0.001)),
    ),
    value(
      '+Infinity',
      u('inf', {}, 1, 'FLOAT32', (i) => (i === 5 ? Infinity : 0.001)),
    ),
    value(
      'float16 overflow to Infinity',
      u('f16-inf', {}, 1, 'FLOAT16', (i) => (i === 0 ? 1e6 : 0.001)),
    ),
    value('delta just under the old fixed limit (10,000)', u('wipe', {}, 9_999)),
    value('delta scaled 1,000×', u('scaled', {}, options.honestNorm * 1000)),
    value('FLOAT16 with an INT8 quantisation block', {
      ...quantizedOnFloat16,
      tensors: quantizedOnFloat16.tensors.map((t) => ({ ...t, quantization: { scale: 1, zeroPoint: 0 } })),
    }),
    value('INT8 without its quantisation block', {
      ...int8,
      tensors: int8.tensors.map((t) => ({ ...t, quantization: null })),
    }),
    value(
      'INT8 with scale 0',
      {
        ...int8,
        updateId: `${int8.updateId}-s0`,
        tensors: int8.tensors.map((t) => ({ ...t, quantization: { scale: 0, zeroPoint: 0 } })),
      },
      Buffer.from(`${int8.updateId}-s0`),
    ),
    value(
      'INT8 zero point out of range',
      {
        ...int8,
        updateId: `${int8.updateId}-zp`,
        tensors: int8.tensors.map((t) => ({ ...t, quantization: { scale: 0.01, zeroPoint: 4000 } })),
      },
      Buffer.from(`${int8.updateId}-zp`),
    ),
    value(
      'a tensor short of its shape',
      (() => {
        const x = u('short-shape');
        return {
          ...x,
          tensors: x.tensors.map((t, i) => (i === 0 ? { ...t, shape: t.shape.map((d) => d + 1) } : t)),
        };
      })(),
    ),
    value(
      'byteLength that lies',
      (() => {
        const x = u('byte-length');
        return { ...x, tensors: x.tensors.map((t, i) => (i === 0 ? { ...t, byteLength: 2 ** 50 } : t)) };
      })(),
    ),
    value(
      'huge shape dims',
      (() => {
        const x = u('huge-dims');
        return {
          ...x,
          tensors: x.tensors.map((t, i) =>
            i === 0 ? { ...t, shape: [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1] } : t,
          ),
        };
      })(),
    ),
    value(
      'a tensor missing',
      (() => {
        const x = u('missing');
        return { ...x, tensors: x.tensors.slice(1) };
      })(),
    ),
    value(
      'a tensor twice',
      (() => {
        const x = u('twice');
        return { ...x, tensors: [...x.tensors, x.tensors[0] as ModelUpdate['tensors'][number]] };
      })(),
    ),
    value(
      'data truncated',
      (() => {
        const x = u('truncated-data');
        return { ...x, data: x.data.subarray(0, x.data.length - 3) };
      })(),
    ),
    value('empty updateId', { ...u('empty-id'), updateId: '' }, Buffer.from('empty-id')),
    value('600-byte updateId', { ...u('long-id'), updateId: longId }, Buffer.from(longId)),
    value('600-byte workerId', u('long-worker', { workerId: longId })),
    value('1,000 metrics', u('metrics', { metrics: bigMetrics })),
    value('key is not the updateId', u('key-mismatch'), Buffer.from('someone-else')),
    value('no key', u('no-key'), null),
    value('a 2 MiB key', u('long-key'), Buffer.alloc(2 * 1024 * 1024, 0x61)),
    value('negative timings', u('neg-time', { timings: { startedAtMs: -5, finishedAtMs: 0 } })),
    value(
      'chunk claims 2^31 chunks',
      u('chunk-count', {
        chunk: { index: 0, count: 2 ** 31 - 1, offset: 0, totalBytes: 64, sha256: Buffer.alloc(32) },
      }),
    ),
    value(
      'chunk claims 2^53 bytes',
      u('chunk-bytes', {
        chunk: { index: 0, count: 2, offset: 0, totalBytes: 2 ** 53 - 1, sha256: Buffer.alloc(32) },
      }),
    ),
    value(
      'chunk at a negative offset',
      u('chunk-offset', {
        chunk: { index: 0, count: 2, offset: -4, totalBytes: 64, sha256: Buffer.alloc(32) },
      }),
    ),
    value(
      'chunk index past its count',
      u('chunk-index', {
        chunk: { index: 5, count: 2, offset: 0, totalBytes: 64, sha256: Buffer.alloc(32) },
      }),
    ),
    value(
      'single chunk with a wrong hash',
      u('chunk-hash', { chunk: { index: 0, count: 1, offset: 0, totalBytes: 0, sha256: Buffer.alloc(32) } }),
    ),
  ];
  // Random example-count and version lies beyond the fixed ones.
  for (let i = 0; i < 8; i++) {
    const lie = pick(random, [-(2 ** 53 - 1), -1, 0, 2 ** 40, 2 ** 53 - 1]);
    cases.push(value(`numExamples ${lie}`, u(`examples-${i}`, { numExamples: lie })));
  }
  return cases;
}

function frameLies(options: CorpusOptions, random: Random): HostileCase[] {
  const honest = framed(options, honestUpdate(options, `frame-${options.seed}`, options.honestNorm));
  const key = Buffer.from(`frame-${options.seed}`);
  const withId = (id: number) => {
    const b = Buffer.from(honest);
    b.writeInt32BE(id, 1);
    return b;
  };
  const cases: HostileCase[] = [
    { family: 'frame', name: 'empty value', key, value: Buffer.alloc(0), mustReject: true },
    { family: 'frame', name: 'four bytes', key, value: Buffer.from([0, 0, 0, 1]), mustReject: true },
    {
      family: 'frame',
      name: 'wrong magic byte',
      key,
      value: Buffer.concat([Buffer.from([1]), honest.subarray(1)]),
      mustReject: true,
    },
    {
      family: 'frame',
      name: 'truncated record',
      key,
      value: honest.subarray(0, Math.floor(honest.length / 2)),
      mustReject: true,
    },
    {
      family: 'frame',
      name: 'trailing bytes',
      key,
      value: Buffer.concat([honest, Buffer.from([1, 2, 3])]),
      mustReject: true,
    },
  ];
  for (const id of [-1, 0, 2 ** 31 - 1, 900_000_000 + Math.floor(random() * 1e6)])
    cases.push({
      family: 'frame',
      name: `unknown schema id ${id}`,
      key,
      value: withId(id),
      mustReject: true,
    });
  for (const id of options.wrongKindSchemaIds ?? [])
    cases.push({
      family: 'frame',
      name: `schema id ${id} of another kind`,
      key,
      value: withId(id),
      mustReject: true,
    });
  return cases;
}

function noise(options: CorpusOptions, random: Random, count: number): HostileCase[] {
  const cases: HostileCase[] = [];
  for (let i = 0; i < count; i++) {
    const id = `noise-${options.seed}-${i}`;
    if (i % 3 === 0) {
      const length = Math.floor(random() * 200);
      const payload = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
      cases.push({
        family: 'noise',
        name: `random ${length} bytes`,
        key: Buffer.from(id),
        value: frame(options.schemaId, payload),
        mustReject: true,
      });
      continue;
    }
    const honest = framed(
      options,
      honestUpdate(
        options,
        id,
        options.honestNorm,
        pick(random, ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const),
      ),
    );
    const flips = 1 + Math.floor(random() * 8);
    for (let f = 0; f < flips; f++) {
      // Flip bytes in the envelope (the first 5 + ~400 bytes), where structure lives.
      const at = 5 + Math.floor(random() * Math.min(400, honest.length - 5));
      honest[at] = (honest[at] as number) ^ (1 << Math.floor(random() * 8));
    }
    cases.push({
      family: 'noise',
      name: `${flips} byte flips`,
      key: Buffer.from(id),
      value: honest,
      mustReject: false,
    });
  }
  return cases;
}

/** About `size` cases: every value and frame lie, then wire lies and noise to fill. */
export function hostileCorpus(options: CorpusOptions, size: number): HostileCase[] {
  const random = seededRandom(options.seed);
  const fixed = [...valueLies(options, random), ...frameLies(options, random)];
  const rest = Math.max(0, size - fixed.length);
  const wire = Math.ceil(rest * 0.7);
  return [...fixed, ...wireLies(options, random, wire), ...noise(options, random, rest - wire)];
}

/** The writer type avsc would use for a ModelUpdate (for harnesses without a registry). */
export const modelUpdateType = (): avro.Type => messageType('ModelUpdate');
