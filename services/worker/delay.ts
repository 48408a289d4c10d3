/**
 * Simulated slow and flaky sites for benchmarks: a training-time multiplier m ≥ 1 per task (the
 * worker waits (m − 1) × its real training time after training), drawn from a delay model.
 */
import { standardNormal, type Random } from '../../lib/core/random.js';

export type DelayModel =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly multiplier: number }
  /** m = 1 + scale · |N(0, σ²)| */
  | { readonly kind: 'half-normal'; readonly sigma: number; readonly scale: number }
  /** m = scale · exp(N(0, σ²)), floored at 1: heavy-tailed */
  | { readonly kind: 'log-normal'; readonly sigma: number; readonly scale: number };

/**
 * What a delay multiplier multiplies: the CPU time training took, its wall time, or `device`: a
 * simulated device's own time, `deviceMsPerSample` per sample trained, whatever this host took
 * (a site on hardware of its own, whose pace the engine training here does not set).
 */
export type DelayBasis = 'cpu' | 'wall' | 'device';

/** A device training 10,000 samples a second: the MNIST MLP's shards take it 40–140 ms an epoch. */
export const DEFAULT_DEVICE_MS_PER_SAMPLE = 0.1;

export function delayMultiplier(model: DelayModel, random: Random): number {
  switch (model.kind) {
    case 'none':
      return 1;
    case 'fixed':
      return model.multiplier;
    case 'half-normal':
      return 1 + model.scale * Math.abs(model.sigma * standardNormal(random));
    case 'log-normal':
      return Math.max(1, model.scale * Math.exp(model.sigma * standardNormal(random)));
  }
}

/**
 * How long a simulated slow site waits after training: (m − 1) × the training time on `basis`.
 * Without a CPU time (a trainer that simulates its time) the wall time stands in. On the `device`
 * basis, what is left of m × the device's time for the samples trained (none if this host was slower).
 */
export function delayAfterTrainingMs(
  multiplier: number,
  basis: DelayBasis,
  trained: { readonly seconds: number; readonly cpuSeconds?: number; readonly samples?: number },
  deviceMsPerSample = DEFAULT_DEVICE_MS_PER_SAMPLE,
): number {
  if (basis === 'device')
    return Math.max(0, multiplier * (trained.samples ?? 0) * deviceMsPerSample - trained.seconds * 1000);
  const seconds = basis === 'cpu' ? (trained.cpuSeconds ?? trained.seconds) : trained.seconds;
  return Math.max(0, (multiplier - 1) * seconds * 1000);
}

/**
 * A simulated intermittent site: offline for the last `forMs` of every `everyMs` since the worker
 * started. Returns how long it stays offline from `sinceStartMs` (0: online).
 */
export interface OutageModel {
  readonly everyMs: number;
  readonly forMs: number;
}

export function offlineForMs(outage: OutageModel, sinceStartMs: number): number {
  if (outage.everyMs <= 0 || outage.forMs <= 0) return 0;
  const phase = sinceStartMs % outage.everyMs;
  const offlineFrom = outage.everyMs - Math.min(outage.forMs, outage.everyMs);
  return phase >= offlineFrom ? outage.everyMs - phase : 0;
}
