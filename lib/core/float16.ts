/**
 * IEEE 754 binary16 conversion without per-element objects: float32 -> float16 with round to
 * nearest even (subnormals and overflow to infinity included), float16 -> float32 by a 64 K table.
 * These are the references; whole groups of values go through the bit-identical SIMD kernels.
 */
import { fromFloat16Kernel, toFloat16Kernel } from './codec-kernels.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one float32 to the nearest binary16 bit pattern (ties to even). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;

  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf or NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to signed zero
    mantissa |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let bits = mantissa >>> shift;
    if (rest > half || (rest === half && (bits & 1) === 1)) bits += 1;
    return sign | bits;
  }
  let bits = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1) === 1)) bits += 1; // may carry into exponent: correct
  return sign | bits;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let table: Float32Array | undefined;
/** All 65,536 half values as float32, built once on first use (256 KiB). */
export function float16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);
  }
  return table;
}

/** float32 → binary16 bits: the SIMD kernel for whole groups of 8 (codec-kernels.ts), this file's scalar code for the rest. */
export function encodeFloat16(
  values: Float32Array,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  const done = toFloat16Kernel(values, out) || 0;
  for (let i = done; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i] as number);
  return out;
}

export function decodeFloat16(
  bits: Uint16Array,
  out: Float32Array = new Float32Array(bits.length),
): Float32Array {
  return decodeFloat16Bytes(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), out);
}

/** binary16 values as little-endian bytes, at any offset (wire bytes need no aligned copy first). */
export function decodeFloat16Bytes(
  bytes: Uint8Array,
  out: Float32Array = new Float32Array(bytes.length >> 1),
): Float32Array {
  const done = fromFloat16Kernel(bytes, out) || 0;
  const lookup = done === out.length ? undefined : float16Table();
  for (let i = done; i < out.length; i++)
    out[i] = lookup?.[(bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8)] as number;
  return out;
}

/** The scalar references, for tests that hold the kernels to them. */
export const scalarFloat16 = {
  encode(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
    for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i] as number);
    return out;
  },
  decode(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
    const lookup = float16Table();
    for (let i = 0; i < bits.length; i++) out[i] = lookup[bits[i] as number] as number;
    return out;
  },
};
