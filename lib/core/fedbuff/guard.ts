/**
 * Limits on one update's influence, relative to what recent honest updates looked like, so that the
 * default configuration does not let one update wipe the model (one well-formed delta just under a
 * fixed norm limit of 10,000 took MNIST from 0.94 to 0.11 test accuracy and kept it there).
 *
 * Reference: the median over a window of the last `window` accepted updates, of their delta L2 norm
 * and of their example count (a robust statistic: moved only if most of the window is hostile).
 *   norm   > rejectFactor · median norm        → rejected (TRIB_NORM_EXCEEDED)
 *   norm   > clipFactor · median norm          → scaled down to clipFactor · median norm
 *   examples > examplesFactor · median examples → weighted as examplesFactor · median examples
 * Until `minSamples` updates were accepted there is no median yet; the model's own norm stands in
 * for it: a delta is clipped to `bootstrapFactor` × ‖model‖ and rejected past `rejectFactor` times
 * that. (Rejecting everything above ‖model‖ starved small models trained with Adam, whose honest
 * first deltas are about as large as the model: no update was ever accepted, so no median formed.)
 * The fixed limits in FedBuffConfig (maxDeltaNorm, clipNorm,
 * maxExamples) still apply on top. Pure: the window is part of the aggregator's checkpoint.
 */

export interface InfluenceGuardConfig {
  readonly window: number;
  readonly minSamples: number;
  readonly clipFactor: number;
  readonly rejectFactor: number;
  readonly examplesFactor: number;
  readonly bootstrapFactor: number;
}

export const DEFAULT_INFLUENCE_GUARD: InfluenceGuardConfig = Object.freeze({
  window: 64,
  minSamples: 8,
  clipFactor: 4,
  rejectFactor: 25,
  examplesFactor: 10,
  bootstrapFactor: 1,
});

/** Recent accepted norms and example counts, oldest first (at most `window` each). */
export interface GuardWindow {
  readonly norms: number[];
  readonly examples: number[];
}

export const emptyGuardWindow = (): GuardWindow => ({ norms: [], examples: [] });

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export type GuardVerdict =
  | { readonly accept: false; readonly reason: string }
  | {
      readonly accept: true;
      /** Norm the delta is scaled to at most (Infinity: no relative clip). */
      readonly clipNorm: number;
      /** Example count used as the weight (the claimed count, or the cap). */
      readonly examples: number;
    };

/** What the guard makes of one update with delta norm `norm` claiming `examples`, given the model norm. */
export function judge(
  config: InfluenceGuardConfig,
  window: GuardWindow,
  norm: number,
  examples: number,
  modelNorm: number,
): GuardVerdict {
  if (window.norms.length < config.minSamples) {
    if (!(modelNorm > 0)) return { accept: true, clipNorm: Infinity, examples }; // no scale to compare with
    const limit = config.bootstrapFactor * modelNorm;
    if (norm > config.rejectFactor * limit)
      return {
        accept: false,
        reason: `delta norm ${norm.toPrecision(4)} exceeds ${config.rejectFactor} × ${config.bootstrapFactor} × the model norm ${modelNorm.toPrecision(4)} (no honest reference yet)`,
      };
    return { accept: true, clipNorm: limit, examples };
  }
  const typicalNorm = median(window.norms);
  if (norm > config.rejectFactor * typicalNorm)
    return {
      accept: false,
      reason: `delta norm ${norm.toPrecision(4)} exceeds ${config.rejectFactor} × the median of recent updates (${typicalNorm.toPrecision(4)})`,
    };
  const typicalExamples = median(window.examples);
  return {
    accept: true,
    clipNorm: config.clipFactor * typicalNorm,
    examples: Math.min(examples, config.examplesFactor * typicalExamples),
  };
}

/** The window after accepting an update (its raw norm and claimed examples), oldest dropped. */
export function remember(
  config: InfluenceGuardConfig,
  window: GuardWindow,
  norm: number,
  examples: number,
): void {
  window.norms.push(norm);
  window.examples.push(examples);
  while (window.norms.length > config.window) window.norms.shift();
  while (window.examples.length > config.window) window.examples.shift();
}

export function validateGuardConfig(config: InfluenceGuardConfig, prefix = 'guard'): string[] {
  const problems: string[] = [];
  const positive = (name: keyof InfluenceGuardConfig) => {
    const v = config[name];
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0))
      problems.push(`${prefix}.${name}: must be a number > 0, got ${String(v)}`);
  };
  for (const name of [
    'window',
    'minSamples',
    'clipFactor',
    'rejectFactor',
    'examplesFactor',
    'bootstrapFactor',
  ] as const)
    positive(name);
  if (!Number.isInteger(config.window)) problems.push(`${prefix}.window: must be a whole number`);
  if (!Number.isInteger(config.minSamples) || config.minSamples > config.window)
    problems.push(`${prefix}.minSamples: must be a whole number no larger than window (${config.window})`);
  if (config.clipFactor > config.rejectFactor)
    problems.push(
      `${prefix}.clipFactor (${config.clipFactor}) cannot exceed rejectFactor (${config.rejectFactor})`,
    );
  return problems;
}
