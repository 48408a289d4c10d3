/**
 * Robust reductions over a buffer of deltas: L2 norm clipping of one delta, and coordinate-wise
 * median and trimmed mean across deltas (Yin et al., ICML 2018). Pure, in place where named.
 */

/**
 * The validation pass before anything is folded: Σ x², or NaN when any value is NaN or ±∞.
 * Summed as the WebAssembly kernel sums (blockedSquaredNorm); when that overflows, because a square
 * exceeds float32's range, summed again in f64 to tell a huge delta from a non-finite one.
 */
export function squaredNormIfFinite(values: Float32Array): number {
  return recheckIfNotFinite(blockedSquaredNorm(values), values);
}

/** A blocked sum that came out NaN or ±∞: the f64 sum if the values are all finite, else NaN. */
export function recheckIfNotFinite(sum: number, values: Float32Array): number {
  if (Number.isFinite(sum)) return sum;
  const exact = exactSquaredNorm(values);
  return Number.isFinite(exact) ? exact : NaN;
}

const BLOCK = 64;
const LANES = 8;

/**
 * Σ x² in blocks of 64: value i of a block goes to float32 partial sum i mod 8 (square and sum each
 * rounded to float32), the partial sums go into f64 accumulators after each block, the values after
 * the last whole block go into accumulator 0 in f64, then s0 + … + s7 from the left. Relative error
 * below 1e-6. The scalar reference of the WebAssembly kernel (fold-kernels.wat): same order, same
 * roundings, same bits.
 */
export function blockedSquaredNorm(values: Float32Array): number {
  const f = Math.fround;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  const n = values.length;
  const end = n - (n % BLOCK);
  for (let block = 0; block < end; block += BLOCK) {
    // Float32 partial sums, written out as locals so the JIT keeps them in registers.
    let p0 = 0;
    let p1 = 0;
    let p2 = 0;
    let p3 = 0;
    let p4 = 0;
    let p5 = 0;
    let p6 = 0;
    let p7 = 0;
    for (let i = block; i < block + BLOCK; i += LANES) {
      const a = values[i] as number;
      const b = values[i + 1] as number;
      const c = values[i + 2] as number;
      const d = values[i + 3] as number;
      const e = values[i + 4] as number;
      const g = values[i + 5] as number;
      const h = values[i + 6] as number;
      const k = values[i + 7] as number;
      p0 = f(p0 + f(a * a));
      p1 = f(p1 + f(b * b));
      p2 = f(p2 + f(c * c));
      p3 = f(p3 + f(d * d));
      p4 = f(p4 + f(e * e));
      p5 = f(p5 + f(g * g));
      p6 = f(p6 + f(h * h));
      p7 = f(p7 + f(k * k));
    }
    s0 += p0;
    s1 += p1;
    s2 += p2;
    s3 += p3;
    s4 += p4;
    s5 += p5;
    s6 += p6;
    s7 += p7;
  }
  for (let i = end; i < n; i++) {
    const v = values[i] as number;
    s0 += v * v;
  }
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

/** Σ x² in f64, where float32 squares are exact and cannot overflow. */
export function exactSquaredNorm(values: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = values.length;
  const end = n - (n % 2);
  for (let i = 0; i < end; i += 2) {
    const a = values[i] as number;
    const b = values[i + 1] as number;
    s0 += a * a;
    s1 += b * b;
  }
  if (end < n) s0 += (values[end] as number) ** 2;
  return s0 + s1;
}

/**
 * target[offset + i] += f32(factor) · values[i] in float32 arithmetic: the fold's inner loop. The
 * scalar reference for the WebAssembly kernel, which rounds exactly so. (A product of two float32s
 * is exact in f64, so fround gives the float32 product; the sum rounds when stored.)
 */
export function addScaled(target: Float32Array, offset: number, values: Float32Array, factor: number): void {
  const a = Math.fround(factor);
  const n = values.length;
  const end = n - (n % 4);
  for (let i = 0; i < end; i += 4) {
    const j = offset + i;
    target[j] = (target[j] as number) + Math.fround(a * (values[i] as number));
    target[j + 1] = (target[j + 1] as number) + Math.fround(a * (values[i + 1] as number));
    target[j + 2] = (target[j + 2] as number) + Math.fround(a * (values[i + 2] as number));
    target[j + 3] = (target[j + 3] as number) + Math.fround(a * (values[i + 3] as number));
  }
  for (let i = end; i < n; i++)
    target[offset + i] = (target[offset + i] as number) + Math.fround(a * (values[i] as number));
}

/** Factor that scales a delta of norm `norm` to at most `maxNorm` (1 when already within). */
export function clipFactor(norm: number, maxNorm: number | null): number {
  return maxNorm !== null && norm > maxNorm ? maxNorm / norm : 1;
}

/** Coordinate-wise median of equally long vectors; the mean of the two middle values for even counts. */
export function coordinateMedian(vectors: readonly Float32Array[], out: Float32Array): Float32Array {
  return coordinateTrimmedMean(
    vectors,
    vectors.length % 2 === 0 ? vectors.length / 2 - 1 : (vectors.length - 1) / 2,
    out,
  );
}

/**
 * Coordinate-wise mean after dropping the `trim` smallest and `trim` largest values of each
 * coordinate. trim = floor((n − 1) / 2) gives the median.
 */
export function coordinateTrimmedMean(
  vectors: readonly Float32Array[],
  trim: number,
  out: Float32Array,
): Float32Array {
  const n = vectors.length;
  if (n === 0) throw new RangeError('no vectors to reduce');
  if (!Number.isInteger(trim) || trim < 0 || 2 * trim >= n)
    throw new RangeError(`cannot trim ${trim} from each side of ${n}`);
  const column = new Float64Array(n);
  const kept = n - 2 * trim;
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < n; j++) column[j] = (vectors[j] as Float32Array)[i] as number;
    column.sort();
    let sum = 0;
    for (let j = trim; j < n - trim; j++) sum += column[j] as number;
    out[i] = sum / kept;
  }
  return out;
}

/** How many values each side a trim fraction removes from n (floor, and always leaving one). */
export function trimCount(n: number, fraction: number): number {
  return Math.min(Math.floor(n * fraction), Math.floor((n - 1) / 2));
}
