/**
 * Staleness weights s(τ), τ = current version − base version (FedBuff, Nguyen et al., AISTATS 2022,
 * §3 and Algorithm 1; hinge from FedAsync, Xie et al. 2019).
 */

export type StalenessPolicy =
  | { readonly kind: 'constant' }
  /** s(τ) = 1 / (1 + τ)^exponent, exponent in [0, 1]; FedBuff's default is 0.5. */
  | { readonly kind: 'polynomial'; readonly exponent: number }
  /** s(τ) = 1 for τ <= b, else 1 / (a (τ − b) + 1). */
  | { readonly kind: 'hinge'; readonly a: number; readonly b: number };

export const DEFAULT_STALENESS: StalenessPolicy = { kind: 'polynomial', exponent: 0.5 };

export function stalenessWeight(staleness: number, policy: StalenessPolicy): number {
  if (!Number.isInteger(staleness) || staleness < 0)
    throw new RangeError(`staleness must be a whole number >= 0, got ${staleness}`);
  switch (policy.kind) {
    case 'constant':
      return 1;
    case 'polynomial':
      return 1 / Math.pow(1 + staleness, policy.exponent);
    case 'hinge':
      return staleness <= policy.b ? 1 : 1 / (policy.a * (staleness - policy.b) + 1);
  }
}
