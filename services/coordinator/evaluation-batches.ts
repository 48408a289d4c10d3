/**
 * How many examples the next central evaluation puts in a batch so that one batch takes about
 * `sliceMs` of the coordinator's thread (./evaluator.ts). Pure.
 *
 * The estimate is the cheapest example of the last evaluation (its fastest batch per example): a
 * batch's time can only grow from work that ran beside it, never shrink, and the last, smaller
 * batch of a pass carries TensorFlow's fixed cost per call over fewer examples. Batches cost less
 * per example the larger they are, so the estimate errs towards smaller batches and the size
 * climbs over a few evaluations; growth is held to GROWTH per evaluation so that one fast
 * measurement cannot make one overlong slice.
 */

/** One batch of an evaluation: its examples and the ms its evaluation took. */
export interface Slice {
  readonly examples: number;
  readonly ms: number;
}

/** The first evaluation's batch size, before anything is measured. */
export const FIRST_BATCH = 512;
export const MIN_BATCH = 16;
export const MAX_BATCH = 8192;
export const GROWTH = 4;

export function nextBatchSize(current: number, slices: readonly Slice[], sliceMs: number): number {
  let msPerExample = Infinity;
  for (const { examples, ms } of slices)
    if (examples > 0 && Number.isFinite(ms) && ms >= 0) msPerExample = Math.min(msPerExample, ms / examples);
  if (msPerExample === Infinity) return current; // nothing measured
  const fitting = msPerExample === 0 ? MAX_BATCH : Math.floor(sliceMs / msPerExample);
  return Math.max(MIN_BATCH, Math.min(MAX_BATCH, current * GROWTH, fitting));
}
