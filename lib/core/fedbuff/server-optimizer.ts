/**
 * Server optimizers applied to the buffered average delta Δ (Reddi et al., "Adaptive Federated
 * Optimization", ICLR 2021, Algorithm 2). Clients send Δ = model sent − model after training, a
 * pseudo-gradient, so every optimizer descends: x ← x − η · direction.
 *   sgd       direction = Δ                               (FedAvg with server learning rate η)
 *   momentum  m ← β m + Δ;                 direction = m  (FedAvgM)
 *   adagrad   v ← v + Δ²;                  direction = Δ / (√v + τ)
 *   adam      m ← β1 m + (1−β1) Δ; v ← β2 v + (1−β2) Δ²;            direction = m / (√v + τ)
 *   yogi      m as adam; v ← v − (1−β2) Δ² sign(v − Δ²);            direction = m / (√v + τ)
 * As in the paper there is no bias correction, and v starts at τ².
 */

export type ServerOptimizerConfig =
  | { readonly kind: 'sgd'; readonly learningRate: number }
  | { readonly kind: 'momentum'; readonly learningRate: number; readonly momentum: number }
  | { readonly kind: 'adagrad'; readonly learningRate: number; readonly tau: number }
  | {
      readonly kind: 'adam';
      readonly learningRate: number;
      readonly beta1: number;
      readonly beta2: number;
      readonly tau: number;
    }
  | {
      readonly kind: 'yogi';
      readonly learningRate: number;
      readonly beta1: number;
      readonly beta2: number;
      readonly tau: number;
    };

export interface OptimizerMoments {
  /** First moment (momentum buffer); null for sgd and adagrad. */
  m: Float32Array | null;
  /** Second moment; null for sgd and momentum. */
  v: Float32Array | null;
}

export function initialMoments(config: ServerOptimizerConfig, size: number): OptimizerMoments {
  const needsM = config.kind === 'momentum' || config.kind === 'adam' || config.kind === 'yogi';
  const needsV = config.kind === 'adagrad' || config.kind === 'adam' || config.kind === 'yogi';
  const v = needsV ? new Float32Array(size).fill((config as { tau: number }).tau ** 2) : null;
  return { m: needsM ? new Float32Array(size) : null, v };
}

/** Applies one server step in place to `model` and `moments`. */
export function applyServerStep(
  config: ServerOptimizerConfig,
  model: Float32Array,
  delta: Float32Array,
  moments: OptimizerMoments,
): void {
  const lr = config.learningRate;
  const n = model.length;
  switch (config.kind) {
    case 'sgd':
      for (let i = 0; i < n; i++) model[i] = (model[i] as number) - lr * (delta[i] as number);
      return;
    case 'momentum': {
      const m = moments.m as Float32Array;
      for (let i = 0; i < n; i++) {
        const mi = config.momentum * (m[i] as number) + (delta[i] as number);
        m[i] = mi;
        model[i] = (model[i] as number) - lr * mi;
      }
      return;
    }
    case 'adagrad': {
      const v = moments.v as Float32Array;
      for (let i = 0; i < n; i++) {
        const d = delta[i] as number;
        const vi = (v[i] as number) + d * d;
        v[i] = vi;
        model[i] = (model[i] as number) - (lr * d) / (Math.sqrt(vi) + config.tau);
      }
      return;
    }
    case 'adam':
    case 'yogi': {
      const m = moments.m as Float32Array;
      const v = moments.v as Float32Array;
      const { beta1, beta2, tau } = config;
      const yogi = config.kind === 'yogi';
      for (let i = 0; i < n; i++) {
        const d = delta[i] as number;
        const d2 = d * d;
        const mi = beta1 * (m[i] as number) + (1 - beta1) * d;
        const vPrev = v[i] as number;
        const vi = yogi ? vPrev - (1 - beta2) * d2 * Math.sign(vPrev - d2) : beta2 * vPrev + (1 - beta2) * d2;
        m[i] = mi;
        v[i] = vi;
        model[i] = (model[i] as number) - (lr * mi) / (Math.sqrt(Math.max(vi, 0)) + tau);
      }
      return;
    }
  }
}
