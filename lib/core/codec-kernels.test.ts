import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODEC_KERNELS, compileKernel, moduleSource } from '../../scripts/build-fold-kernels.js';
import { codecKernelsAvailable } from './codec-kernels.js';
import { decodeFloat16, encodeFloat16, scalarFloat16 } from './float16.js';
import {
  chooseAffineQuantization,
  dequantizeInt8,
  quantizeInt8,
  roundHalfEven,
  scalarInt8,
} from './quantization.js';

const float32 = fc.float({ noDefaultInfinity: false, noNaN: false });
const floatsFromBits = (bits: Uint32Array) => new Float32Array(bits.buffer, bits.byteOffset, bits.length);
const sameValues = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
/** Longer than one kernel slice (256 Ki values) with a ragged tail, so slices and tails both run. */
const LONG = (1 << 18) * 2 + 37;
// The exhaustive cases take 2-3.5 s each on an idle 2-core host, twice that beside the integration
// tests' brokers: vitest's 5-s default failed two of them so.
const exhaustive = { timeout: 30_000 };

describe('codec kernels: the WebAssembly module', () => {
  it('runs here, and is the committed build of codec-kernels.wat (edit it, then npm run build:kernels)', async () => {
    expect(codecKernelsAvailable()).toBe(true);
    expect(readFileSync(CODEC_KERNELS.modulePath, 'utf8')).toBe(
      moduleSource(CODEC_KERNELS, await compileKernel(CODEC_KERNELS)),
    );
  });
});

describe('float16 kernels are bit-identical to the scalar reference', exhaustive, () => {
  it('encodes every float32 neighbourhood that decides rounding: each sign, exponent and top mantissa bits × the 13 dropped bits at and around the half-way point', () => {
    const lows = [
      0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x2fff, 0x3000, 0xefff, 0xf000, 0xffff,
    ];
    const bits = new Uint32Array(65536 * lows.length);
    let i = 0;
    for (let high = 0; high < 65536; high++) for (const low of lows) bits[i++] = (high << 16) | low;
    const values = floatsFromBits(bits);
    expect(encodeFloat16(values)).toEqual(scalarFloat16.encode(values));
  });

  it('encodes arrays of any float32 (NaN, ±∞, −0, subnormals), every length', () => {
    fc.assert(
      fc.property(fc.array(float32, { maxLength: 200 }), (values) => {
        const v = Float32Array.from(values);
        expect(encodeFloat16(v)).toEqual(scalarFloat16.encode(v));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes all 65,536 binary16 values (NaNs as NaN), and a long ragged array', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    expect(sameValues(decodeFloat16(all), scalarFloat16.decode(all))).toBe(true);
    const long = Uint16Array.from({ length: LONG }, (_, i) => (i * 40503) & 0xffff);
    expect(sameValues(decodeFloat16(long), scalarFloat16.decode(long))).toBe(true);
    const values = Float32Array.from({ length: LONG }, (_, i) => Math.sin(i) * 1e3);
    expect(encodeFloat16(values)).toEqual(scalarFloat16.encode(values));
  });
});

describe('int8 kernels are bit-identical to the scalar reference', exhaustive, () => {
  const quantization = fc.record({
    scale: fc.float({ min: 2 ** -126, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    zeroPoint: fc.integer({ min: -128, max: 127 }),
  });

  it('quantizes any float32 (NaN, ±∞ and out-of-range values clamp or go to 0 alike), every length', () => {
    fc.assert(
      fc.property(fc.array(float32, { maxLength: 200 }), quantization, (values, q) => {
        const v = Float32Array.from(values);
        expect(quantizeInt8(v, q)).toEqual(scalarInt8.quantize(v, q));
      }),
      { numRuns: 1000 },
    );
  });

  it('dequantizes any levels, for a float32 scale by the kernel and any other scale by the scalar code', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -128, max: 127 }), { maxLength: 200 }),
        quantization,
        fc.double({ min: 1e-9, max: 1e3, noNaN: true }),
        (levels, q, f64Scale) => {
          const l = Int8Array.from(levels);
          expect(sameValues(dequantizeInt8(l, q), scalarInt8.dequantize(l, q))).toBe(true);
          const wide = { scale: f64Scale, zeroPoint: q.zeroPoint };
          expect(sameValues(dequantizeInt8(l, wide), scalarInt8.dequantize(l, wide))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('finds the same range (0 always inside; NaN never taken) and so the same quantization', () => {
    fc.assert(
      fc.property(fc.array(float32, { maxLength: 200 }), (values) => {
        const v = Float32Array.from(values);
        const { min, max } = scalarInt8.range(v);
        const expected =
          max === min
            ? { scale: 1, zeroPoint: 0 }
            : (() => {
                const scale = Math.max(Math.fround((max - min) / 255), 2 ** -126);
                return { scale, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - min / scale))) };
              })();
        expect(chooseAffineQuantization(v)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('round trips a long ragged array within scale / 2 (plus float32 rounding) per element', () => {
    const values = Float32Array.from({ length: LONG }, (_, i) => Math.sin(i * 0.37) * 0.01);
    const q = chooseAffineQuantization(values);
    const levels = quantizeInt8(values, q);
    expect(levels).toEqual(scalarInt8.quantize(values, q));
    const back = dequantizeInt8(levels, q);
    expect(sameValues(back, scalarInt8.dequantize(levels, q))).toBe(true);
    let worst = 0;
    for (let i = 0; i < LONG; i++)
      worst = Math.max(worst, Math.abs((back[i] as number) - (values[i] as number)));
    expect(worst).toBeLessThanOrEqual(q.scale * 0.5 * (1 + 1e-4));
  });

  it('rounds ties to even, others to nearest', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([
      -2, -2, -0, 0, 2, 2, 2, 3, -3,
    ]);
  });
});
