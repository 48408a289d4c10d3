/**
 * Hand-derived gradients (./dense-sgd.ts) against TF.js's tape on the cpu backend: the same trained
 * weights and loss for every loss, output activation and hidden activation it covers, with and
 * without bias and FedProx; the tape's edge cases (cross-entropy's clip, |x|'s derivative at 0);
 * the models it leaves to the tape; and a clear error for targets that do not fit.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../core/errors.js';
import { arrayBatches, type InMemoryExamples } from './arrays.js';
import { defineTask } from './define.js';
import { denseSgd, outputGradient } from './dense-sgd.js';
import { TaskModel } from './model.js';
import type { LossName } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mlp = (hidden: string, out: string, useBias: boolean) => () =>
  tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 5, activation: hidden as 'relu', useBias, name: 'a' }),
      tf.layers.dense({ units: 4, activation: hidden as 'relu', useBias, name: 'b' }),
      tf.layers.dense({ units: 3, activation: out as 'softmax', useBias, name: 'c' }),
    ],
  });

/** 48 examples in 6-D from a fixed formula; three classes, or three regression targets. */
function examples(loss: LossName): InMemoryExamples {
  const features = new Float32Array(48 * 6).map((_, i) => Math.sin(i * 7.31) + (i % 3) * 0.2);
  if (loss === 'categoricalCrossentropy')
    return { features, featureShape: [6], labels: new Uint8Array(48).map((_, i) => i % 3), classes: 3 };
  if (loss === 'sparseCategoricalCrossentropy')
    return { features, featureShape: [6], labels: new Uint8Array(48).map((_, i) => i % 3), targetWidth: 1 };
  const labels = new Float32Array(48 * 3).map((_, i) => 0.5 * Math.cos(i * 1.7));
  return { features, featureShape: [6], labels, targetWidth: 3 };
}

/** Trains the same task from the same start with the tape and with derived gradients. */
async function bothPaths(options: {
  loss: LossName;
  hidden: string;
  out: string;
  useBias: boolean;
  proximalMu: number | null;
  scale?: number;
}) {
  const task = defineTask({
    id: 'dense',
    model: mlp(options.hidden, options.out, options.useBias),
    loss: options.loss,
    data: { train: () => [], evaluation: () => [] },
  });
  const [derived, tape] = await Promise.all(
    [true, false].map(async (useChain) => {
      const model = new TaskModel(tf, task, {}, { denseChain: useChain });
      const start = new Float32Array(model.layout.size).map(
        (_, i) => Math.cos(i) * (options.scale ?? 0.4) + (options.out === 'relu' ? 0.15 : 0),
      );
      const hyper = {
        epochs: 2,
        steps: null,
        batchSize: 8,
        learningRate: 0.2,
        proximalMu: options.proximalMu,
      };
      const batches = () => arrayBatches(tf, examples(options.loss), { batchSize: 8, seed: 3 });
      const outcome = await model.train(start, hyper, batches, () => false);
      return {
        path: model.gradientPath,
        delta: outcome?.delta ?? new Float32Array(),
        loss: outcome?.loss ?? NaN,
      };
    }),
  );
  return { derived: derived as NonNullable<typeof derived>, tape: tape as NonNullable<typeof tape> };
}

function expectSameTraining({ derived, tape }: Awaited<ReturnType<typeof bothPaths>>, digits = 5) {
  expect(derived.path).toBe('derived');
  expect(tape.path).toBe('tape');
  expect(derived.delta.some((d) => d !== 0)).toBe(true);
  for (let i = 0; i < tape.delta.length; i++)
    expect(derived.delta[i]).toBeCloseTo(tape.delta[i] as number, digits);
  expect(derived.loss).toBeCloseTo(tape.loss, digits);
}

describe('denseSgd against the tape', () => {
  const hidden = ['relu', 'linear', 'sigmoid', 'tanh'];
  const pairs: [LossName, string][] = [
    ['categoricalCrossentropy', 'softmax'],
    ['sparseCategoricalCrossentropy', 'softmax'],
    ['meanSquaredError', 'linear'],
    ['meanSquaredError', 'relu'],
    ['meanSquaredError', 'sigmoid'],
    ['meanSquaredError', 'tanh'],
    ['meanAbsoluteError', 'linear'],
    ['meanAbsoluteError', 'tanh'],
  ];
  const cases = pairs.flatMap(([loss, out]) => hidden.map((h) => [loss, out, h] as const));
  it.each(cases)(
    '%s with %s output, %s hidden: same weights and loss (bias and none)',
    async (loss, out, h) => {
      for (const useBias of [true, false])
        expectSameTraining(await bothPaths({ loss, hidden: h, out, useBias, proximalMu: null }));
    },
  );

  it('matches with FedProx on (its penalty in the loss, its pull in the step)', async () => {
    for (const loss of ['categoricalCrossentropy', 'meanSquaredError'] as const)
      expectSameTraining(
        await bothPaths({
          loss,
          hidden: 'relu',
          out: loss === 'meanSquaredError' ? 'linear' : 'softmax',
          useBias: true,
          proximalMu: 0.3,
        }),
      );
  });

  it('matches where cross-entropy clips: saturated examples get no gradient, as on the tape', async () => {
    const run = await bothPaths({
      loss: 'categoricalCrossentropy',
      hidden: 'linear',
      out: 'softmax',
      useBias: true,
      proximalMu: null,
      scale: 6,
    });
    // Weights this large put some true-class probabilities under 1e-7: the loss shows the clip.
    expect(run.tape.loss).toBeGreaterThan(3);
    // Saturated softmaxes round differently on the two paths: agreement to 1e-3 (weights up to 6).
    expectSameTraining(run, 3);
  });
});

describe('outputGradient', () => {
  it('gives no gradient to a true class clipped below 1e-7, and the clipped loss', () => {
    const { loss, gradient } = outputGradient(
      'categoricalCrossentropy',
      'softmax',
      Float32Array.of(1e-9, 1 - 1e-9),
      [1, 0],
      1,
      2,
      1,
    );
    expect(loss).toBeCloseTo(-Math.log(1e-7), 6);
    expect([...gradient]).toEqual([0, 0]);
  });

  it('is p − y for softmax and a one-hot target, times the learning rate over the batch', () => {
    const p = Float32Array.of(0.2, 0.3, 0.5, 0.6, 0.3, 0.1);
    const { gradient } = outputGradient('sparseCategoricalCrossentropy', 'softmax', p, [2, 0], 2, 3, 0.5);
    const expected = [0.2, 0.3, -0.5, -0.4, 0.3, 0.1].map((v) => (0.5 * v) / 2);
    expected.forEach((v, i) => expect(gradient[i]).toBeCloseTo(v, 6));
  });

  it('takes |x|’s derivative at 0 as the tape does (step(y − p, −1): +1 where p = y)', () => {
    const p = Float32Array.of(0.5, 0.25, 1);
    const y = [0.5, 0.5, 0.5];
    const { gradient } = outputGradient('meanAbsoluteError', 'linear', p, y, 1, 3, 1);
    const tape = tf.grad((q: tf.Tensor) => tf.losses.absoluteDifference(tf.tensor1d(y), q))(tf.tensor1d(p));
    expect([...gradient]).toEqual([...tape.dataSync()]);
  });

  it('throws a typed error when the targets do not fit the outputs', () => {
    for (const [loss, y] of [
      ['categoricalCrossentropy', [1, 0, 0]],
      ['sparseCategoricalCrossentropy', [1, 0, 1]],
      ['meanSquaredError', [0.1]],
    ] as const) {
      let thrown: unknown;
      try {
        outputGradient(
          loss,
          loss === 'meanSquaredError' ? 'linear' : 'softmax',
          new Float32Array(4),
          y,
          2,
          2,
          1,
        );
      } catch (error) {
        thrown = error;
      }
      expect(isTributaryError(thrown, 'TRIB_TASK_LOAD_FAILED')).toBe(true);
    }
  });
});

describe('denseSgd leaves to the tape', () => {
  it('other activations, mismatched loss and output, a task’s own loss, frozen layers, other models', () => {
    const frozen = mlp('relu', 'softmax', true)();
    (frozen.layers[0] as tf.layers.Layer).trainable = false;
    const conv = tf.sequential({
      layers: [tf.layers.conv1d({ inputShape: [8, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten()],
    });
    const own = (ys: tf.Tensor, p: tf.Tensor) => tf.mean(tf.sub(ys, p)) as tf.Scalar;
    for (const [model, loss] of [
      [mlp('elu', 'softmax', true)(), 'categoricalCrossentropy'],
      [mlp('relu', 'softmax', true)(), 'meanSquaredError'],
      [mlp('relu', 'linear', true)(), 'categoricalCrossentropy'],
      [mlp('relu', 'softmax', true)(), own],
      [frozen, 'categoricalCrossentropy'],
      [conv, 'meanSquaredError'],
    ] as const)
      expect(denseSgd(tf, model, loss)).toBeNull();
  });
});
