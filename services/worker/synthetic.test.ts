import { describe, expect, it } from 'vitest';
import { SYNTHETIC_STEP, syntheticDelta, syntheticTarget, syntheticTrainer } from './synthetic.js';

describe('synthetic trainer', () => {
  it('pulls toward the target: repeated deltas converge and the loss falls', () => {
    const target = syntheticTarget(50);
    let model = new Float32Array(50);
    const losses: number[] = [];
    for (let version = 0; version < 200; version++) {
      const { delta, loss } = syntheticDelta(model, target, { baseVersion: version }, 3);
      losses.push(loss);
      model = model.map((w, i) => w + delta[i]!);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 100);
    expect(losses.every(Number.isFinite)).toBe(true);
  });

  it('gives deltas of one size, however far the model is from the target', () => {
    const target = syntheticTarget(100);
    const rms = (d: Float32Array) => Math.sqrt(d.reduce((a, x) => a + x * x, 0) / d.length);
    const far = syntheticDelta(new Float32Array(100).fill(5), target, { baseVersion: 0 }, 1).delta;
    const near = syntheticDelta(Float32Array.from(target), target, { baseVersion: 0 }, 1).delta;
    expect(rms(far)).toBeCloseTo(SYNTHETIC_STEP, 5);
    expect(rms(near)).toBeCloseTo(SYNTHETIC_STEP, 5);
  });

  it('is deterministic by worker seed and version, and differs between workers', () => {
    const target = syntheticTarget(20);
    const start = new Float32Array(20).fill(0.5);
    const a = syntheticDelta(start, target, { baseVersion: 4 }, 1).delta;
    expect(syntheticDelta(start, target, { baseVersion: 4 }, 1).delta).toEqual(a);
    expect(syntheticDelta(start, target, { baseVersion: 4 }, 2).delta).not.toEqual(a);
    expect(syntheticDelta(start, target, { baseVersion: 5 }, 1).delta).not.toEqual(a);
    expect(syntheticTarget(20, 7)).toEqual(target);
  });

  it('takes its training time, and gives up when the worker stops', async () => {
    const layout = { size: 4 } as never;
    const trainer = syntheticTrainer(layout, 120, 1, syntheticTarget(4));
    const task = { baseVersion: 0 } as never;
    const began = performance.now();
    const result = await trainer.train(new Float32Array(4), task, () => false);
    expect(performance.now() - began).toBeGreaterThanOrEqual(110);
    expect(result?.delta).toHaveLength(4);
    expect(result?.numExamples).toBe(100);
    expect(await trainer.train(new Float32Array(4), task, () => true)).toBeNull();
  });
});
