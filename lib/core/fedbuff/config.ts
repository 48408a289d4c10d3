/** FedBuff aggregator settings, validated once with one message per bad field, then frozen. */
import { ConfigError } from '../errors.js';
import { DEFAULT_STALENESS, type StalenessPolicy } from './staleness.js';
import type { ServerOptimizerConfig } from './server-optimizer.js';
import { DEFAULT_INFLUENCE_GUARD, validateGuardConfig, type InfluenceGuardConfig } from './guard.js';

export type RobustReduction =
  | { readonly kind: 'mean' }
  | { readonly kind: 'median' }
  | { readonly kind: 'trimmed-mean'; readonly trimFraction: number };

export interface FedBuffConfig {
  readonly jobId: string;
  /** K: deltas per server step. */
  readonly bufferSize: number;
  /** Updates staler than this are rejected; 0 makes the aggregator synchronous FedAvg. */
  readonly maxStaleness: number;
  readonly staleness: StalenessPolicy;
  /** uniform: Σ s·Δ / K; examples: Σ n·s·Δ / Σ n (with K = cohort and constant s: FedAvg). */
  readonly averaging: 'uniform' | 'examples';
  readonly serverOptimizer: ServerOptimizerConfig;
  readonly reduction: RobustReduction;
  /** Soft limit: each delta is scaled down to this L2 norm. */
  readonly clipNorm: number | null;
  /** Hard limit: a delta with a larger L2 norm is rejected. */
  readonly maxDeltaNorm: number | null;
  /** Hard limit: an update claiming more examples is rejected. */
  readonly maxExamples: number | null;
  /** Limits relative to recent honest updates (./guard.ts); null turns them off. */
  readonly guard: InfluenceGuardConfig | null;
  /**
   * β of the served model, an exponential moving average of the versions (./served.ts); 0 serves
   * each version as it is.
   */
  readonly servedAverage: number;
}

export const DEFAULT_FEDBUFF: Omit<FedBuffConfig, 'jobId'> = {
  bufferSize: 4,
  maxStaleness: 20,
  staleness: DEFAULT_STALENESS,
  averaging: 'examples',
  serverOptimizer: { kind: 'sgd', learningRate: 1 },
  reduction: { kind: 'mean' },
  clipNorm: null,
  maxDeltaNorm: 1e4,
  maxExamples: 1e9,
  guard: DEFAULT_INFLUENCE_GUARD,
  servedAverage: 0,
};

/** Synchronous FedAvg as a FedBuff setting: K = cohort, nothing stale accepted, plain average. */
export function fedAvgConfig(
  jobId: string,
  cohortSize: number,
  overrides: Partial<FedBuffConfig> = {},
): FedBuffConfig {
  return validateFedBuffConfig({
    ...DEFAULT_FEDBUFF,
    jobId,
    bufferSize: cohortSize,
    maxStaleness: 0,
    staleness: { kind: 'constant' },
    averaging: 'examples',
    ...overrides,
  });
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
const inUnit = (x: unknown) => typeof x === 'number' && x >= 0 && x < 1;

export function validateFedBuffConfig(config: FedBuffConfig): FedBuffConfig {
  const problems: string[] = [];
  if (typeof config.jobId !== 'string' || config.jobId === '')
    problems.push('jobId: must be a non-empty string');
  if (!Number.isInteger(config.bufferSize) || config.bufferSize < 1)
    problems.push(`bufferSize (K): must be a whole number >= 1, got ${config.bufferSize}`);
  if (!Number.isInteger(config.maxStaleness) || config.maxStaleness < 0)
    problems.push(`maxStaleness: must be a whole number >= 0, got ${config.maxStaleness}`);
  const s = config.staleness;
  if (s.kind === 'polynomial' && !(s.exponent >= 0 && s.exponent <= 1))
    problems.push(`staleness.exponent: must be in [0, 1], got ${s.exponent}`);
  if (s.kind === 'hinge' && (!(s.a > 0) || !(s.b >= 0)))
    problems.push('staleness (hinge): a must be > 0 and b >= 0');
  if (!['constant', 'polynomial', 'hinge'].includes(s.kind))
    problems.push(`staleness.kind: unknown "${String(s.kind)}"`);
  if (!['uniform', 'examples'].includes(config.averaging))
    problems.push(`averaging: must be uniform or examples, got "${String(config.averaging)}"`);
  const o = config.serverOptimizer;
  if (!positive(o.learningRate))
    problems.push(`serverOptimizer.learningRate: must be > 0, got ${o.learningRate}`);
  if (o.kind === 'momentum' && !inUnit(o.momentum))
    problems.push(`serverOptimizer.momentum: must be in [0, 1), got ${o.momentum}`);
  if (o.kind === 'adam' || o.kind === 'yogi') {
    if (!inUnit(o.beta1)) problems.push(`serverOptimizer.beta1: must be in [0, 1), got ${o.beta1}`);
    if (!inUnit(o.beta2)) problems.push(`serverOptimizer.beta2: must be in [0, 1), got ${o.beta2}`);
  }
  if ((o.kind === 'adam' || o.kind === 'yogi' || o.kind === 'adagrad') && !positive(o.tau))
    problems.push(`serverOptimizer.tau: must be > 0, got ${o.tau}`);
  if (!['sgd', 'momentum', 'adagrad', 'adam', 'yogi'].includes(o.kind))
    problems.push(`serverOptimizer.kind: unknown "${String(o.kind)}"`);
  const r = config.reduction;
  if (!['mean', 'median', 'trimmed-mean'].includes(r.kind))
    problems.push(`reduction.kind: unknown "${String(r.kind)}"`);
  if (r.kind === 'trimmed-mean' && !(r.trimFraction >= 0 && r.trimFraction < 0.5))
    problems.push(`reduction.trimFraction: must be in [0, 0.5), got ${r.trimFraction}`);
  if (config.clipNorm !== null && !positive(config.clipNorm))
    problems.push(`clipNorm: must be > 0 or null, got ${config.clipNorm}`);
  if (config.maxDeltaNorm !== null && !positive(config.maxDeltaNorm))
    problems.push(`maxDeltaNorm: must be > 0 or null, got ${config.maxDeltaNorm}`);
  if (config.maxExamples !== null && !(Number.isSafeInteger(config.maxExamples) && config.maxExamples >= 1))
    problems.push(`maxExamples: must be a whole number >= 1 or null, got ${config.maxExamples}`);
  if (config.guard !== null) problems.push(...validateGuardConfig(config.guard));
  if (!inUnit(config.servedAverage))
    problems.push(`servedAverage: must be in [0, 1), got ${config.servedAverage}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, guard: config.guard && Object.freeze({ ...config.guard }) });
}
