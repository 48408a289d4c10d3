import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from './errors.js';
import { decodeFloat16, encodeFloat16, float32ToFloat16Bits, float16Table } from './float16.js';
import { chooseAffineQuantization } from './quantization.js';
import { decodeTensors, encodeTensors, type NamedTensor, type TensorDescriptor } from './tensors.js';

const finiteFloats = (min: number, max: number) =>
  fc.float32Array({
    minLength: 1,
    maxLength: 300,
    noNaN: true,
    noDefaultInfinity: true,
    min: Math.fround(min),
    max: Math.fround(max),
  });

describe('float16', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up past the largest half: infinity
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -26, 0x0000], // below half the smallest subnormal
    [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // a tie rounds to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie rounds to even (up)
  ])('encodes %d as 0x%s', (value, bits) => {
    expect(float32ToFloat16Bits(value).toString(16)).toBe(bits.toString(16));
  });

  it('encodes NaN as a NaN pattern and decodes it as NaN', () => {
    const bits = float32ToFloat16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x3ff).not.toBe(0);
    expect(Number.isNaN(float16Table()[bits])).toBe(true);
  });

  it('re-encodes every half value to itself (the table and the encoder agree)', () => {
    const table = float16Table();
    for (let h = 0; h < 65536; h++) {
      const v = table[h] as number;
      if (Number.isNaN(v)) continue;
      expect(float32ToFloat16Bits(v)).toBe(h);
    }
  });

  it('has relative error at most 2^-11 across the normal range', () => {
    fc.assert(
      fc.property(finiteFloats(-60000, 60000), (values) => {
        const decoded = decodeFloat16(encodeFloat16(values));
        values.forEach((v, i) => {
          const error = Math.abs((decoded[i] as number) - v);
          expect(error).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
        });
      }),
    );
  });
});

describe('int8 affine quantisation', () => {
  it('always represents zero exactly', () => {
    fc.assert(
      fc.property(finiteFloats(-1e3, 1e3), (values) => {
        const q = chooseAffineQuantization(values);
        const withZero = Float32Array.from([...values, 0]);
        const encoded = encodeTensors(
          [{ name: 't', shape: [withZero.length], values: withZero }],
          'INT8_AFFINE',
        );
        const decoded = decodeTensors(encoded.tensors, encoded.data);
        expect(q.zeroPoint).toBeGreaterThanOrEqual(-128);
        expect(q.zeroPoint).toBeLessThanOrEqual(127);
        expect(decoded[0]?.values.at(-1)).toBe(0);
      }),
    );
  });

  it('has absolute error at most scale / 2', () => {
    fc.assert(
      fc.property(finiteFloats(-1e4, 1e4), (values) => {
        const encoded = encodeTensors([{ name: 't', shape: [values.length], values }], 'INT8_AFFINE');
        const scale = encoded.tensors[0]?.quantization?.scale as number;
        const decoded = decodeTensors(encoded.tensors, encoded.data)[0]?.values as Float32Array;
        values.forEach((v, i) => {
          expect(Math.abs((decoded[i] as number) - v)).toBeLessThanOrEqual(
            scale * 0.5 * (1 + 1e-5) + Math.abs(v) * 1e-6,
          );
        });
      }),
    );
  });

  it('encodes an all-zero tensor exactly', () => {
    const values = new Float32Array(10);
    const encoded = encodeTensors([{ name: 'z', shape: [10], values }], 'INT8_AFFINE');
    expect(decodeTensors(encoded.tensors, encoded.data)[0]?.values).toEqual(values);
  });
});

describe('tensor sets', () => {
  const sample: NamedTensor[] = [
    { name: 'dense/kernel', shape: [3, 2], values: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) },
    { name: 'dense/bias', shape: [2], values: Float32Array.from([0.25, -0.125]) },
    { name: 'scalar', shape: [], values: Float32Array.from([42]) },
  ];

  it('round-trips float32 exactly, names and shapes included', () => {
    fc.assert(
      fc.property(fc.array(fc.float32Array({ maxLength: 50, noNaN: true }), { maxLength: 5 }), (arrays) => {
        const tensors = arrays.map((values, i) => ({ name: `t${i}`, shape: [values.length], values }));
        const encoded = encodeTensors(tensors, 'FLOAT32');
        expect(encoded.data.length).toBe(arrays.reduce((n, a) => n + a.length * 4, 0));
        expect(decodeTensors(encoded.tensors, encoded.data)).toEqual(tensors);
      }),
    );
  });

  it('decodes from an unaligned buffer (as Avro hands out bytes)', () => {
    const encoded = encodeTensors(sample, 'FLOAT32');
    const shifted = new Uint8Array(encoded.data.length + 1).subarray(1);
    shifted.set(encoded.data);
    expect(decodeTensors(encoded.tensors, shifted)).toEqual(sample);
  });

  it.each(['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const)(
    '%s decodes into a given array, one tensor after another, with the same values',
    (encoding) => {
      const encoded = encodeTensors(sample, encoding);
      const fresh = decodeTensors(encoded.tensors, encoded.data);
      const into = new Float32Array(12).fill(-1);
      const decoded = decodeTensors(encoded.tensors, encoded.data, into);
      expect(decoded).toEqual(fresh);
      decoded.forEach((t) => expect(t.values.buffer).toBe(into.buffer));
      expect(Array.from(into.subarray(0, 9))).toEqual(fresh.flatMap((t) => Array.from(t.values)));
      expect(Array.from(into.subarray(9))).toEqual([-1, -1, -1]);
    },
  );

  it('decodes the tensors that do not fit into a given array into arrays of their own', () => {
    const encoded = encodeTensors(sample, 'FLOAT32');
    const into = new Float32Array(7);
    const decoded = decodeTensors(encoded.tensors, encoded.data, into);
    expect(decoded).toEqual(sample);
    expect(decoded.map((t) => t.values.buffer === into.buffer)).toEqual([true, false, true]);
  });

  it.each(['FLOAT16', 'INT8_AFFINE'] as const)(
    '%s shrinks the payload and keeps names and shapes',
    (encoding) => {
      const encoded = encodeTensors(sample, encoding);
      expect(encoded.data.length).toBe(9 * (encoding === 'FLOAT16' ? 2 : 1));
      const decoded = decodeTensors(encoded.tensors, encoded.data);
      expect(decoded.map((t) => [t.name, t.shape])).toEqual(sample.map((t) => [t.name, t.shape]));
    },
  );

  const corruptCases: [string, (d: TensorDescriptor[]) => TensorDescriptor[], number, string][] = [
    [
      'a byte length that disagrees with the shape',
      (d) => d.map((t, i) => (i === 0 ? { ...t, byteLength: 20 } : t)),
      0,
      'TRIB_PAYLOAD_CORRUPT',
    ],
    ['trailing bytes', (d) => d, 4, 'TRIB_PAYLOAD_CORRUPT'],
    ['data shorter than described', (d) => d, -4, 'TRIB_PAYLOAD_CORRUPT'],
    [
      'an unknown encoding',
      (d) => d.map((t) => ({ ...t, encoding: 'BFLOAT16' as never })),
      0,
      'TRIB_UNSUPPORTED_ENCODING',
    ],
    [
      'a negative dimension',
      (d) => d.map((t, i) => (i === 1 ? { ...t, shape: [-2] } : t)),
      0,
      'TRIB_PAYLOAD_CORRUPT',
    ],
  ];
  it.each(corruptCases)('rejects %s', (_, mutate, extraBytes, code) => {
    const encoded = encodeTensors(sample, 'FLOAT32');
    const data =
      extraBytes >= 0
        ? Uint8Array.from([...encoded.data, ...new Array(extraBytes).fill(0)])
        : encoded.data.subarray(0, encoded.data.length + extraBytes);
    let error: unknown;
    try {
      decodeTensors(mutate(encoded.tensors), data);
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
  });

  it('rejects INT8_AFFINE without valid quantisation parameters', () => {
    const encoded = encodeTensors(sample, 'INT8_AFFINE');
    for (const quantization of [
      null,
      { scale: 0, zeroPoint: 0 },
      { scale: 1, zeroPoint: 300 },
      { scale: NaN, zeroPoint: 0 },
    ]) {
      const tensors = encoded.tensors.map((t) => ({ ...t, quantization }));
      expect(() => decodeTensors(tensors, encoded.data)).toThrow(/INT8_AFFINE needs/);
    }
  });
});
