import { describe, expect, it } from 'vitest';

import { FedBuffAggregator, type UpdateForFold } from './aggregator.js';
import { DEFAULT_FEDBUFF, validateFedBuffConfig } from './config.js';
import {
  DEFAULT_INFLUENCE_GUARD,
  emptyGuardWindow,
  judge,
  median,
  remember,
  validateGuardConfig,
  type GuardWindow,
} from './guard.js';
import { modelLayout } from './layout.js';
import { restoreAggregator, serializeAggregator } from './state.js';
import { codeOf } from '../../../test/support/codes.js';

const config = DEFAULT_INFLUENCE_GUARD;

function windowOf(norms: number[], examples = norms.map(() => 100)): GuardWindow {
  const w = emptyGuardWindow();
  norms.forEach((n, i) => remember(config, w, n, examples[i] as number));
  return w;
}

describe('influence guard (pure)', () => {
  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('before minSamples, clips at bootstrapFactor × the model norm and rejects past rejectFactor times that', () => {
    const w = windowOf([1, 1, 1]);
    expect(judge(config, w, 9.9, 100, 10)).toEqual({ accept: true, clipNorm: 10, examples: 100 });
    // an honest first delta a little larger than a small model (Adam) is clipped, not rejected
    expect(judge(config, w, 10.1, 100, 10)).toEqual({ accept: true, clipNorm: 10, examples: 100 });
    expect(judge(config, w, 249, 100, 10).accept).toBe(true);
    const verdict = judge(config, w, 251, 100, 10);
    expect(verdict.accept).toBe(false);
    // a zero model (tests, fresh layers) has no scale to compare with: nothing is rejected
    expect(judge(config, w, 1e6, 100, 0).accept).toBe(true);
  });

  it('after minSamples: clips at clipFactor × median, rejects past rejectFactor × median, caps examples', () => {
    const w = windowOf([1, 2, 2, 2, 3, 2, 2, 2], [100, 100, 100, 100, 100, 200, 100, 100]);
    expect(judge(config, w, 2, 150, 1e9)).toEqual({ accept: true, clipNorm: 8, examples: 150 });
    expect(judge(config, w, 49.9, 100, 1e9)).toEqual({ accept: true, clipNorm: 8, examples: 100 });
    expect(judge(config, w, 50.1, 100, 1e9).accept).toBe(false);
    expect(judge(config, w, 1, 1e12, 1e9)).toEqual({ accept: true, clipNorm: 8, examples: 1000 });
  });

  it('keeps only the last `window` entries', () => {
    const w = emptyGuardWindow();
    for (let i = 0; i < config.window + 10; i++) remember(config, w, i, i);
    expect(w.norms).toHaveLength(config.window);
    expect(w.norms[0]).toBe(10);
    expect(w.examples[config.window - 1]).toBe(config.window + 9);
  });

  it('lists one problem per bad field', () => {
    expect(validateGuardConfig(config)).toEqual([]);
    const problems = validateGuardConfig({ ...config, window: 0, clipFactor: 30, minSamples: 100 });
    expect(problems.join('\n')).toMatch(/window/);
    expect(problems.join('\n')).toMatch(/clipFactor/);
    expect(problems.join('\n')).toMatch(/minSamples/);
  });
});

describe('influence guard in the aggregator (defaults)', () => {
  const layout = modelLayout('guard-test', [{ name: 'w', shape: [64] }]);
  const initial = new Float32Array(64).fill(1); // ‖model‖ = 8
  const deltaOf = (norm: number, sign = 1) => new Float32Array(64).fill((sign * norm) / 8);
  let counter = 0;
  const update = (values: Float32Array, numExamples = 100, baseVersion = 0): UpdateForFold => ({
    updateId: `u${counter++}`,
    jobId: 'job',
    workerId: 'w',
    baseVersion,
    numExamples,
    tensors: [{ name: 'w', shape: [64], values }],
  });
  const create = () =>
    FedBuffAggregator.create(
      validateFedBuffConfig({ ...DEFAULT_FEDBUFF, jobId: 'job', bufferSize: 4, maxStaleness: 1000 }),
      layout,
      initial,
    );

  it('rejects a delta just under the old fixed limit (10,000) that would have wiped the model', () => {
    const aggregator = create();
    expect(codeOf(() => aggregator.fold(update(deltaOf(9_999))))).toBe('TRIB_NORM_EXCEEDED');
    for (let i = 0; i < 12; i++)
      aggregator.fold(update(deltaOf(0.5 + (i % 3) * 0.1), 100, aggregator.version));
    expect(codeOf(() => aggregator.fold(update(deltaOf(9_999), 100, aggregator.version)))).toBe(
      'TRIB_NORM_EXCEEDED',
    );
    // a scaled update just inside the reject factor is folded, but clipped to 4 × the median
    const outcome = aggregator.fold(update(deltaOf(14), 100, aggregator.version));
    expect(outcome.update.clipFactor).toBeCloseTo((4 * 0.6) / 14, 5);
  });

  it('never touches honest updates whose norms vary within the factors', () => {
    const aggregator = create();
    for (let i = 0; i < 40; i++) {
      const outcome = aggregator.fold(
        update(deltaOf(0.4 + (i % 5) * 0.3), 500 + (i % 7) * 100, aggregator.version),
      );
      expect(outcome.update.clipFactor).toBe(1);
    }
  });

  it('caps a claimed example count far above recent ones, and rejects one over the hard limit', () => {
    const aggregator = create();
    for (let i = 0; i < 8; i++) aggregator.fold(update(deltaOf(0.5), 100, aggregator.version));
    expect(codeOf(() => aggregator.fold(update(deltaOf(0.5), 2e9, aggregator.version)))).toBe(
      'TRIB_EXAMPLES_EXCEEDED',
    );
    // weight of a 10⁸-example claim is capped at 10 × 100: with three honest updates of 100 in the
    // same buffer, the step is (1000·(−0.5) + 3·100·0.5)/1300 per unit direction, not ≈ −0.5
    const before = Float32Array.from(aggregator.model);
    for (let i = 0; i < 3; i++) aggregator.fold(update(deltaOf(0.5), 100, aggregator.version));
    aggregator.fold(update(deltaOf(0.5, -1), 1e8, aggregator.version));
    const moved = ((aggregator.model[0] as number) - (before[0] as number)) * 8;
    expect(moved).toBeCloseTo(-((1000 * -0.5 + 300 * 0.5) / 1300), 4);
  });

  it('restores its window from a checkpoint and judges identically', () => {
    const aggregator = create();
    for (let i = 0; i < 9; i++) aggregator.fold(update(deltaOf(0.5 + i * 0.01), 100, aggregator.version));
    const restored = restoreAggregator(serializeAggregator(aggregator));
    expect(restored.snapshot().guardWindow).toEqual(aggregator.snapshot().guardWindow);
    const probe = update(deltaOf(20), 100, aggregator.version);
    expect(codeOf(() => restored.check(probe))).toBe(codeOf(() => aggregator.check(probe)));
  });
});
