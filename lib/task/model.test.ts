/**
 * The task model on TF.js's cpu backend: layouts derived from models (and compared), the default
 * training with non-trainable weights federated, a task's own training and metrics, regression.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrayBatches } from './arrays.js';
import { defineTask } from './define.js';
import { firstLayoutMismatch, LayoutMismatchError, assertSameLayout, layoutOfModel } from './layout.js';
import { TaskModel } from './model.js';
import type { Batch, TaskDefinition } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const withBatchNorm = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4 }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }),
    ],
  });

/** 64 points of two classes in 3-D, the first shifted by +2, from a fixed seed. */
const twoClasses = (): Batch[] => {
  const features = new Float32Array(64 * 3).map((_, i) => Math.sin(i * 12.9898) * 0.5);
  const labels = new Uint8Array(64).map((_, i) => i % 2);
  for (let i = 0; i < 64; i += 2) for (let j = 0; j < 3; j++) (features[i * 3 + j] as number) += 2;
  return [
    ...arrayBatches(tf, { features, featureShape: [3], labels, classes: 2 }, { batchSize: 16, seed: 1 }),
  ];
};

const h = { epochs: 1, steps: null, batchSize: 16, learningRate: 0.1, proximalMu: null };

function task(extra: Partial<TaskDefinition> = {}): ReturnType<typeof defineTask> {
  return defineTask({
    id: 'bn',
    model: withBatchNorm,
    data: { train: twoClasses, evaluation: twoClasses },
    ...extra,
  });
}

describe('layout derived from the model', () => {
  it('names weights by layer and weight, the same in every build, non-trainable ones last', () => {
    const a = layoutOfModel('bn', withBatchNorm());
    const b = layoutOfModel('bn', withBatchNorm()); // TF.js's own names now end in 2, not 1
    expect(a.tensors.map((t) => `${t.name}:${t.shape.join('x')}`)).toEqual([
      'dense_1/kernel:3x4',
      'dense_1/bias:4',
      'batch_normalization_1/gamma:4',
      'batch_normalization_1/beta:4',
      'head/kernel:4x2',
      'head/bias:2',
      'batch_normalization_1/moving_mean:4',
      'batch_normalization_1/moving_variance:4',
    ]);
    expect(b.tensors).toEqual(a.tensors);
    expect(a.size).toBe(12 + 4 + 4 + 4 + 8 + 2 + 4 + 4);
  });

  it('names the first difference from a published manifest', () => {
    const layout = layoutOfModel('bn', withBatchNorm());
    const manifest = {
      architectureId: 'bn',
      tensorNames: layout.tensors.map((t) => t.name),
      shapes: layout.tensors.map((t) => [...t.shape]),
    };
    expect(firstLayoutMismatch(layout, manifest)).toBeNull();
    expect(firstLayoutMismatch(layout, { ...manifest, architectureId: 'other' })).toBe(
      'task id: the job\'s model is "other", this process built "bn"',
    );
    const renamed = {
      ...manifest,
      tensorNames: manifest.tensorNames.map((n, i) => (i === 4 ? 'out/kernel' : n)),
    };
    expect(firstLayoutMismatch(layout, renamed)).toBe(
      'tensor 4: the job\'s model has "out/kernel", this process\'s "head/kernel"',
    );
    const reshaped = { ...manifest, shapes: manifest.shapes.map((s, i) => (i === 0 ? [3, 5] : s)) };
    expect(firstLayoutMismatch(layout, reshaped)).toBe(
      "tensor 0 (dense_1/kernel): the job's shape is [3, 5], this process's [3, 4]",
    );
    const shorter = {
      ...manifest,
      tensorNames: manifest.tensorNames.slice(0, 6),
      shapes: manifest.shapes.slice(0, 6),
    };
    expect(firstLayoutMismatch(layout, shorter)).toBe(
      'tensor 6: this process\'s model has "batch_normalization_1/moving_mean", the job\'s model has only 6 tensors',
    );
    expect(() => assertSameLayout(layout, renamed)).toThrow(LayoutMismatchError);
    try {
      assertSameLayout(layout, renamed);
    } catch (error) {
      expect((error as LayoutMismatchError).code).toBe('TRIB_LAYOUT_MISMATCH');
    }
  });
});

describe('training and evaluation', () => {
  it('federates non-trainable weights: batch-norm moving statistics move in the delta', async () => {
    const model = new TaskModel(tf, task(), {});
    const start = model.initialWeights(1);
    const result = await model.train(start, h, () => twoClasses());
    if (!result) throw new Error('stopped');
    const slot = model.layout.tensors.find((t) => t.name === 'batch_normalization_1/moving_mean');
    if (!slot) throw new Error('no moving mean');
    const movingMeanDelta = result.delta.subarray(slot.offset, slot.offset + slot.length);
    expect(Math.max(...movingMeanDelta.map(Math.abs))).toBeGreaterThan(1e-4);
    expect(result.numExamples).toBe(64);
    expect(result.samples).toBe(64);
    expect(Number.isFinite(result.loss)).toBe(true);
  });

  it('leaves non-trainable weights out of the FedProx term', async () => {
    // μ huge: trainable weights can barely move; the moving statistics still do.
    const model = new TaskModel(tf, task(), {});
    const result = await model.train(
      model.initialWeights(1),
      { ...h, proximalMu: 1e6, learningRate: 1e-7 },
      () => twoClasses(),
    );
    if (!result) throw new Error('stopped');
    const slot = model.layout.tensors.find((t) => t.name === 'batch_normalization_1/moving_variance');
    const kernel = model.layout.tensors[0];
    if (!slot || !kernel) throw new Error('layout');
    expect(
      Math.max(...result.delta.subarray(slot.offset, slot.offset + slot.length).map(Math.abs)),
    ).toBeGreaterThan(1e-4);
    expect(
      Math.max(...result.delta.subarray(kernel.offset, kernel.offset + kernel.length).map(Math.abs)),
    ).toBeLessThan(1e-4);
  });

  it('stops after `steps` batches, across epochs', async () => {
    const model = new TaskModel(tf, task(), {});
    const result = await model.train(model.initialWeights(1), { ...h, steps: 6 }, () => twoClasses());
    expect(result?.samples).toBe(6 * 16);
  });

  it("uses a task's own training and metrics", async () => {
    const seen: number[] = [];
    const custom = task({
      train: async ({ model, batches, hyperparameters, loss, tf: t }) => {
        const optimizer = t.train.adam(hyperparameters.learningRate);
        let n = 0;
        for await (const { xs, ys } of batches(0)) {
          optimizer.minimize(() => loss(ys, model.apply(xs, { training: true }) as tf.Tensor));
          n += xs.shape[0] ?? 0;
          seen.push(n);
        }
        return { numExamples: n, loss: 0.5, metrics: { optimizerSteps: seen.length } };
      },
      metrics: {
        positiveRate: (_ys, p, t) => t.mean(t.cast(t.equal(t.argMax(p, -1), 1), 'float32')) as tf.Scalar,
      },
    });
    const model = new TaskModel(tf, custom, {});
    const result = await model.train(model.initialWeights(1), h, () => twoClasses());
    expect(result?.metrics).toEqual({ optimizerSteps: 4 });
    expect(result?.loss).toBe(0.5);
    const evaluation = await model.evaluate(model.getFlat(), twoClasses());
    expect(Object.keys(evaluation.metrics)).toEqual(['positiveRate']);
    expect(evaluation.accuracy).toBeNull();
    expect(evaluation.examples).toBe(64);
    expect(evaluation.metrics.positiveRate).toBeGreaterThanOrEqual(0);
  });

  it('reports accuracy for classifiers and mse and mae for regression', async () => {
    const classifier = await new TaskModel(tf, task(), {}).evaluate(
      new TaskModel(tf, task(), {}).getFlat(),
      twoClasses(),
    );
    expect(Object.keys(classifier.metrics)).toEqual(['accuracy']);
    expect(classifier.accuracy).toBeGreaterThanOrEqual(0);

    const line = (): Batch[] => [{ xs: tf.tensor2d([[0], [1], [2]]), ys: tf.tensor2d([[1], [3], [5]]) }];
    const regression = defineTask({
      id: 'line',
      loss: 'meanSquaredError',
      model: () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1, name: 'fit' })] }),
      data: { train: line },
    });
    const model = new TaskModel(tf, regression, {});
    const weights = Float32Array.from([2, 1]); // y = 2x + 1 exactly
    const exact = await model.evaluate(weights, line());
    expect(exact.metrics).toEqual({ mse: 0, mae: 0 });
    const off = await model.evaluate(Float32Array.from([2, 2]), line()); // every prediction 1 too high
    expect(off.metrics.mse).toBeCloseTo(1, 6);
    expect(off.metrics.mae).toBeCloseTo(1, 6);
    expect(off.loss).toBeCloseTo(1, 6);
  });

  it('evaluates a batch larger than 32 as the same examples in small batches do', async () => {
    // One batch of 200 goes through the model in one call; its figures must be the example-weighted
    // figures of batches of 8 (loss, accuracy and confusion over every example, none dropped).
    const model = new TaskModel(tf, task(), {});
    const weights = model.initialWeights(3);
    const features = new Float32Array(200 * 3).map((_, i) => Math.cos(i * 7.31));
    const labels = new Uint8Array(200).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const data = { features, featureShape: [3], labels, classes: 2 };
    const whole = await model.evaluate(weights, [...arrayBatches(tf, data, { batchSize: 200, seed: null })]);
    const small = await model.evaluate(weights, [...arrayBatches(tf, data, { batchSize: 8, seed: null })]);
    expect(whole.examples).toBe(200);
    expect(whole.confusion.reduce((a, b) => a + b, 0)).toBe(200);
    expect(whole.confusion).toEqual(small.confusion);
    expect(whole.accuracy).toBeCloseTo(small.accuracy ?? NaN, 6);
    expect(whole.loss).toBeCloseTo(small.loss, 5);
  });

  it('counts a confusion matrix for classifiers (true class by row, argmax by column), none for regression', async () => {
    // A fixed linear model: class 1 exactly when x > 0. Truth: [0, 0, 1, 1, 1]; inputs make the
    // model say [0, 1, 1, 0, 1]: one false positive, one false negative.
    const linear = defineTask({
      id: 'sign',
      model: () =>
        tf.sequential({
          layers: [tf.layers.dense({ inputShape: [1], units: 2, activation: 'softmax', name: 'out' })],
        }),
      data: { train: () => [] },
    });
    const model = new TaskModel(tf, linear, {});
    const weights = Float32Array.from([-1, 1, 0, 0]); // logits (−x, x)
    const xs = [-2, 1, 3, -1, 2];
    const truth = [0, 0, 1, 1, 1];
    const batches = (): Batch[] => [
      { xs: tf.tensor2d(xs.slice(0, 3), [3, 1]), ys: tf.oneHot(tf.tensor1d(truth.slice(0, 3), 'int32'), 2) },
      { xs: tf.tensor2d(xs.slice(3), [2, 1]), ys: tf.oneHot(tf.tensor1d(truth.slice(3), 'int32'), 2) },
    ];
    expect(model.classes).toBe(2);
    const e = await model.evaluate(weights, batches());
    expect(e.classes).toBe(2);
    expect(e.confusion).toEqual([1, 1, 1, 2]);
    expect(e.accuracy).toBeCloseTo(3 / 5, 6);
    const regression = await new TaskModel(
      tf,
      defineTask({
        id: 'line',
        loss: 'meanSquaredError',
        model: () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1, name: 'fit' })] }),
        data: { train: () => [] },
      }),
      {},
    ).evaluate(Float32Array.from([1, 0]), [{ xs: tf.tensor2d([[1]]), ys: tf.tensor2d([[1]]) }]);
    expect(regression.classes).toBe(0);
    expect(
      new TaskModel(
        tf,
        defineTask({
          id: 'line',
          loss: 'meanSquaredError',
          model: () =>
            tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1, name: 'fit' })] }),
          data: { train: () => [] },
        }),
        {},
      ).classes,
    ).toBeNull();
    expect(regression.confusion).toEqual([]);
  });

  it('rejects a data function that yields something other than batches', async () => {
    const broken = task({ data: { train: () => [{ xs: tf.zeros([2, 3]), ys: tf.zeros([3, 2]) }] } });
    const model = new TaskModel(tf, broken, {});
    await expect(
      model.train(model.initialWeights(1), h, () => broken.data.train?.({} as never) ?? []),
    ).rejects.toThrow(/TRIB_TASK_LOAD_FAILED/);
  });
});
