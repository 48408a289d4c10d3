/**
 * Value lies (honest-looking records whose fields claim what is not so) and framing lies (magic
 * byte, schema ids, truncation, trailing bytes) for the fuzz corpus (./corpus.ts).
 */
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import type { Random } from '../../lib/core/random.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { framed, honestUpdate, pick, type CorpusOptions, type HostileCase } from './records.js';

export function valueLies(options: CorpusOptions, random: Random): HostileCase[] {
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

export function frameLies(options: CorpusOptions, random: Random): HostileCase[] {
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
