/**
 * Statistics for comparing runs that vary a lot from seed to seed (time to accuracy on this shared
 * 2-core machine moves by up to 2× between runs of the same code): a steadier crossing time than
 * the first evaluation over the target, quartiles, and a bootstrap interval for a ratio of medians.
 * Pure; seeded, so a result re-renders the same.
 */
import { seededRandom } from '../lib/core/random.js';
import { median } from './common.js';

/**
 * The first x (a whole window after the curve's start) at which the mean y of the points in the
 * trailing `window` of x (this point's included) reaches `target`: one lucky evaluation above the target does not count, a noisy curve
 * is judged by its level. A window of x, not of points: systems that evaluate at different rates
 * are smoothed over the same span of time.
 */
export function smoothedCrossing(
  points: readonly { x: number; y: number }[],
  target: number,
  window: number,
): number | null {
  let from = 0;
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const { x, y } = points[i] as { x: number; y: number };
    sum += y;
    while ((points[from] as { x: number }).x <= x - window) sum -= (points[from++] as { y: number }).y;
    // Judged once a whole window of curve is behind it: not on the first lone evaluation.
    if (x - (points[0] as { x: number }).x >= window && sum / (i - from + 1) >= target) return x;
  }
  return null;
}

/** The quartiles (linear interpolation between order statistics, as numpy's default). */
export function quartiles(xs: readonly number[]): { q1: number; median: number; q3: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => {
    if (s.length === 0) return Number.NaN;
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
  };
  return { q1: at(0.25), median: at(0.5), q3: at(0.75) };
}

/**
 * median(a) / median(b) and its 95% percentile-bootstrap interval. Paired when both come from the
 * same seeds in the same order (the seed, which fixes the data split, is resampled); otherwise
 * each side is resampled on its own.
 */
export function bootstrapRatio(
  a: readonly number[],
  b: readonly number[],
  options: { paired?: boolean; resamples?: number; seed?: number } = {},
): { ratio: number; low: number; high: number } {
  const resamples = options.resamples ?? 4000;
  const paired = options.paired ?? false;
  if (paired && a.length !== b.length) throw new RangeError('paired samples need equal lengths');
  const random = seededRandom(options.seed ?? 1); // the same interval every time for the same runs
  const pick = (n: number) => Math.floor(random() * n);
  const ratios: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let ra: number[];
    let rb: number[];
    if (paired) {
      const idx = a.map(() => pick(a.length));
      ra = idx.map((i) => a[i] as number);
      rb = idx.map((i) => b[i] as number);
    } else {
      ra = a.map(() => a[pick(a.length)] as number);
      rb = b.map(() => b[pick(b.length)] as number);
    }
    ratios.push(median(ra) / median(rb));
  }
  ratios.sort((x, y) => x - y);
  const q = (p: number) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))] as number;
  return { ratio: median(a) / median(b), low: q(0.025), high: q(0.975) };
}

/**
 * Ratios of measurements taken in pairs, a[i] beside b[i]: their median and range. On a broker whose
 * JIT is still warming, or a machine whose neighbours come and go, two figures measured minutes
 * apart drift together; a pair measured back to back (in alternating order: see pairOrder) does not.
 */
export function pairedRatios(
  a: readonly number[],
  b: readonly number[],
): { median: number; min: number; max: number; ratios: number[] } {
  if (a.length !== b.length || a.length === 0)
    throw new RangeError('paired ratios need equal, non-empty samples');
  const ratios = a.map((x, i) => x / (b[i] as number));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ratios };
}

/**
 * Which of a pair goes first in round `round`: alternating (A B, B A, A B, …), so a trend over the
 * rounds (a warming broker) favours neither side.
 */
export function pairOrder<T>(round: number, first: T, second: T): [T, T] {
  return round % 2 === 0 ? [first, second] : [second, first];
}

/**
 * The order of `items` in round `round`: rotated left by `round`, so over as many rounds as there
 * are items each takes each place once, and a trend over the rounds favours none of them.
 */
export function roundOrder<T>(round: number, items: readonly T[]): T[] {
  const n = items.length;
  return items.map((_, i) => items[(i + round) % n] as T);
}
