/**
 * Per-tensor affine int8 quantisation: real = scale * (q - zeroPoint), q in [-128, 127].
 * The range always includes 0 so that 0 is exact (sparse deltas stay sparse); the rounding error
 * of any element within the range is at most scale / 2 (plus float32's own rounding of x / scale).
 *
 * Levels are computed in float32 and rounded half to even (what SIMD hardware does), so the
 * WebAssembly kernels (codec-kernels.ts) and the scalar code here give the same bytes; whole groups
 * go through the kernels, the rest through the scalar code. Decoders do not depend on how levels
 * were rounded: this is the encoder's choice, not the wire format's.
 */
import { dequantizeKernel, quantizeKernel, rangeKernel } from './codec-kernels.js';

export interface AffineQuantization {
  readonly scale: number;
  readonly zeroPoint: number;
}

export function chooseAffineQuantization(values: Float32Array): AffineQuantization {
  const kernel = rangeKernel(values);
  let min = kernel ? kernel.min : 0;
  let max = kernel ? kernel.max : 0;
  for (let i = kernel ? kernel.done : 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max === min) return { scale: 1, zeroPoint: 0 }; // all zeros
  // Never 0: a range of denormals would otherwise give a scale that underflows float32.
  const scale = Math.max(Math.fround((max - min) / 255), 2 ** -126);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - min / scale)));
  return { scale, zeroPoint };
}

/** x rounded to the nearest whole number, ties to the even one (IEEE's default, f32x4.nearest). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The level of one value: the scalar reference of the kernel. */
function level(value: number, inverse: number, zeroPoint: number): number {
  const l = roundHalfEven(Math.fround(value * inverse)) + zeroPoint;
  return l < -128 ? -128 : l > 127 ? 127 : l; // NaN stays NaN: stored as 0
}

export function quantizeInt8(
  values: Float32Array,
  q: AffineQuantization,
  out = new Int8Array(values.length),
): Int8Array {
  const inverse = Math.fround(1 / q.scale);
  const done = quantizeKernel(values, inverse, q.zeroPoint, out) || 0;
  for (let i = done; i < values.length; i++) out[i] = level(values[i] as number, inverse, q.zeroPoint);
  return out;
}

export function dequantizeInt8(
  levels: Int8Array,
  q: AffineQuantization,
  out: Float32Array = new Float32Array(levels.length),
): Float32Array {
  // The kernel multiplies in float32: the same single rounding only for a float32 scale (a wire
  // scale always is; one computed in float64 goes the scalar way).
  const done =
    Math.fround(q.scale) === q.scale ? dequantizeKernel(levels, q.scale, q.zeroPoint, out) || 0 : 0;
  for (let i = done; i < levels.length; i++) out[i] = q.scale * ((levels[i] as number) - q.zeroPoint);
  return out;
}

/** The scalar references, for tests that hold the kernels to them. */
export const scalarInt8 = {
  quantize(values: Float32Array, q: AffineQuantization, out = new Int8Array(values.length)): Int8Array {
    const inverse = Math.fround(1 / q.scale);
    for (let i = 0; i < values.length; i++) out[i] = level(values[i] as number, inverse, q.zeroPoint);
    return out;
  },
  dequantize(levels: Int8Array, q: AffineQuantization, out = new Float32Array(levels.length)): Float32Array {
    for (let i = 0; i < levels.length; i++) out[i] = q.scale * ((levels[i] as number) - q.zeroPoint);
    return out;
  },
  range(values: Float32Array): { min: number; max: number } {
    let min = 0;
    let max = 0;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  },
};
