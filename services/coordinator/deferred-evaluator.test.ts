import { afterEach, describe, expect, it, vi } from 'vitest';
import { modelLayout, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { Evaluation } from '../../lib/task/model.js';
import { DeferredEvaluator } from './deferred-evaluator.js';
import type { Evaluator } from './evaluator.js';

const layout = modelLayout('task', [
  { name: 'dense_1/kernel', shape: [3, 2] },
  { name: 'dense_1/bias', shape: [2] },
]);

/** A loaded model whose loss is the weights' sum. */
function loadedModel(withLayout: ModelLayout = layout): Evaluator {
  return {
    layout: withLayout,
    backend: 'tensorflow',
    evaluates: true,
    classNames: [],
    classes: 2,
    ready: true,
    initialWeights: () => Promise.resolve(new Float32Array(withLayout.size).fill(0.5)),
    evaluate: async (w) =>
      ({
        loss: w.reduce((a, b) => a + b, 0),
        accuracy: null,
        metrics: {},
        examples: 1,
        classes: 2,
        confusion: [],
      }) as Evaluation,
  };
}

function deferred(
  options: { load?: () => Promise<Evaluator>; evaluates?: boolean; loadAfterMs?: number } = {},
) {
  const load = vi.fn(options.load ?? (() => Promise.resolve(loadedModel())));
  const onFatal = vi.fn();
  const evaluator = new DeferredEvaluator(
    { layout, evaluates: options.evaluates ?? true, classNames: ['a', 'b'] },
    { load, loadAfterMs: options.loadAfterMs ?? 60_000, onFatal },
  );
  return { evaluator, load, onFatal };
}

afterEach(() => vi.useRealTimers());

describe('DeferredEvaluator', () => {
  it('answers from the checkpoint and the task before loading anything', () => {
    const { evaluator, load } = deferred();
    expect(evaluator.layout).toBe(layout);
    expect(evaluator.evaluates).toBe(true);
    expect(evaluator.classNames).toEqual(['a', 'b']);
    expect(evaluator.ready).toBe(false);
    expect(evaluator.classes).toBeNull();
    expect(evaluator.backend).toBe('not loaded');
    expect(load).not.toHaveBeenCalled();
  });

  it('loads the model once, at the first evaluation, however many ask at once', async () => {
    const { evaluator, load } = deferred();
    const [a, b] = await Promise.all([
      evaluator.evaluate(new Float32Array(8).fill(1)),
      evaluator.evaluate(new Float32Array(8).fill(2)),
    ]);
    expect(a?.loss).toBe(8);
    expect(b?.loss).toBe(16);
    expect(load).toHaveBeenCalledTimes(1);
    expect(evaluator.ready).toBe(true);
    expect(evaluator.classes).toBe(2);
    expect(evaluator.backend).toBe('tensorflow');
    expect((await evaluator.evaluate(new Float32Array(8)))?.loss).toBe(0);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('loads for initial weights', async () => {
    const { evaluator, load } = deferred();
    expect(Array.from(await evaluator.initialWeights())).toEqual(new Array(8).fill(0.5));
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('loads on its own after loadAfterMs when nothing asked first', async () => {
    vi.useFakeTimers();
    const { evaluator, load } = deferred({ loadAfterMs: 3000 });
    await vi.advanceTimersByTimeAsync(2999);
    expect(load).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(load).toHaveBeenCalledTimes(1);
    expect(evaluator.ready).toBe(true);
  });

  it('does not load for an evaluation when the task has no evaluation data', async () => {
    const { evaluator, load } = deferred({ evaluates: false });
    expect(await evaluator.evaluate(new Float32Array(8))).toBeNull();
    expect(load).not.toHaveBeenCalled();
  });

  it("refuses a task whose model is not the checkpoint's, as fatal", async () => {
    const other = modelLayout('task', [
      { name: 'dense_1/kernel', shape: [3, 4] },
      { name: 'dense_1/bias', shape: [4] },
    ]);
    const { evaluator, onFatal } = deferred({ load: () => Promise.resolve(loadedModel(other)) });
    await expect(evaluator.evaluate(new Float32Array(8))).rejects.toMatchObject({
      code: 'TRIB_LAYOUT_MISMATCH',
      message: expect.stringMatching(/tensor 0 \(dense_1\/kernel\): the job's shape is \[3, 2\]/),
    });
    expect(onFatal).toHaveBeenCalledWith(expect.objectContaining({ code: 'TRIB_LAYOUT_MISMATCH' }));
    expect(evaluator.ready).toBe(false);
  });

  it('reports a failed load as fatal', async () => {
    const { evaluator, onFatal } = deferred({ load: () => Promise.reject(new Error('no TensorFlow')) });
    await expect(evaluator.initialWeights()).rejects.toThrow('no TensorFlow');
    expect(onFatal).toHaveBeenCalledTimes(1);
  });
});
