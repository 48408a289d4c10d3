/**
 * Per-tensor affine int8 quantisation: real = scale * (q - zeroPoint), q in [-128, 127].
 * The range always includes 0 so that 0 is exact (sparse deltas stay sparse); the rounding error
 * of any element within the range is at most scale / 2.
 */

export interface AffineQuantization {
  readonly scale: number;
  readonly zeroPoint: number;
}

export function chooseAffineQuantization(values: Float32Array): AffineQuantization {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
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

export function quantizeInt8(
  values: Float32Array,
  q: AffineQuantization,
  out = new Int8Array(values.length),
): Int8Array {
  const inverse = 1 / q.scale;
  for (let i = 0; i < values.length; i++) {
    const level = Math.round((values[i] as number) * inverse) + q.zeroPoint;
    out[i] = level < -128 ? -128 : level > 127 ? 127 : level;
  }
  return out;
}

export function dequantizeInt8(
  levels: Int8Array,
  q: AffineQuantization,
  out: Float32Array = new Float32Array(levels.length),
): Float32Array {
  for (let i = 0; i < levels.length; i++) out[i] = q.scale * ((levels[i] as number) - q.zeroPoint);
  return out;
}
