/**
 * The Dense chain against the layers engine on TF.js's cpu backend: the same outputs for every
 * activation (fused and not), the same trained weights through TaskModel's default training, and
 * no chain for models it does not cover.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrayBatches } from './arrays.js';
import { denseChain } from './dense-chain.js';
import { defineTask } from './define.js';
import { TaskModel } from './model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mlp =
  (hidden: string, out = 'softmax', useBias = true) =>
  () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [6], units: 5, activation: hidden as 'relu', useBias, name: 'a' }),
        tf.layers.dense({ units: 4, activation: hidden as 'relu', name: 'b' }),
        tf.layers.dense({ units: 3, activation: out as 'softmax', name: 'c' }),
      ],
    });

/** 48 examples of three classes in 6-D from a fixed formula. */
const examples = () => ({
  features: new Float32Array(48 * 6).map((_, i) => Math.sin(i * 7.31) + (i % 3) * 0.2),
  featureShape: [6],
  labels: new Uint8Array(48).map((_, i) => i % 3),
  classes: 3,
});

describe('denseChain', () => {
  const activations = ['relu', 'linear', 'elu', 'tanh', 'sigmoid', 'selu', 'softplus', 'relu6'];
  it.each(activations)(
    'gives the layers engine’s outputs for hidden activation %s (bias and none)',
    (act) => {
      for (const useBias of [true, false]) {
        const model = mlp(act, 'softmax', useBias)();
        // Biases start at zero: set every weight, so a bias left out shows.
        model.setWeights(
          model.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.5, 'float32', i + 1)),
        );
        const chain = denseChain(tf, model);
        expect(chain).not.toBeNull();
        const x = tf.tensor2d(examples().features.subarray(0, 8 * 6), [8, 6]);
        const expected = (model.predict(x) as tf.Tensor).dataSync();
        const actual = chain?.(x).dataSync() ?? new Float32Array();
        expect(actual.length).toBe(expected.length);
        for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i] as number, 6);
      }
    },
  );

  it('is null for models it does not cover: other layers, functional models, inputs of rank 3', () => {
    const withDropout = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.dropout({ rate: 0.5 })],
    });
    const input = tf.input({ shape: [4] });
    const functional = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor,
    });
    const sequenceDense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [5, 4], units: 3 })] });
    const convolutional = tf.sequential({
      layers: [tf.layers.conv1d({ inputShape: [8, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten()],
    });
    for (const model of [withDropout, functional, sequenceDense, convolutional])
      expect(denseChain(tf, model)).toBeNull();
  });

  it('trains to the same weights as the layers engine (default training, FedProx on)', async () => {
    const task = defineTask({
      id: 'dense',
      model: mlp('relu'),
      data: { train: () => [], evaluation: () => [] },
    });
    const trained = await Promise.all(
      [true, false].map(async (useChain) => {
        const model = new TaskModel(tf, task, {}, { denseChain: useChain });
        expect(model.forwardPath).toBe(useChain ? 'dense-chain' : 'layers');
        const start = new Float32Array(model.layout.size).map((_, i) => Math.cos(i) * 0.3);
        const hyper = { epochs: 2, steps: null, batchSize: 8, learningRate: 0.2, proximalMu: 0.1 };
        const batches = () => arrayBatches(tf, examples(), { batchSize: 8, seed: 3 });
        const outcome = await model.train(start, hyper, batches, () => false);
        const evaluation = await model.evaluate(
          start,
          arrayBatches(tf, examples(), { batchSize: 48, seed: null }),
        );
        return { delta: outcome?.delta ?? new Float32Array(), loss: outcome?.loss, evaluation };
      }),
    );
    const [chain, layers] = trained as [(typeof trained)[0], (typeof trained)[0]];
    expect(chain.delta.some((d) => d !== 0)).toBe(true);
    for (let i = 0; i < layers.delta.length; i++)
      expect(chain.delta[i]).toBeCloseTo(layers.delta[i] as number, 5);
    expect(chain.loss).toBeCloseTo(layers.loss ?? NaN, 5);
    expect(chain.evaluation.accuracy).toBe(layers.evaluation.accuracy);
    expect(chain.evaluation.loss).toBeCloseTo(layers.evaluation.loss, 5);
    expect(chain.evaluation.confusion).toEqual(layers.evaluation.confusion);
  });
});
