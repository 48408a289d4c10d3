/**
 * The model architectures, defined once for worker training and coordinator evaluation alike. The
 * tensor names and order here are the wire manifest; TF.js's own weight names (which gain suffixes
 * when a layer name repeats in a process) are never used on the wire.
 */
import type * as TF from '@tensorflow/tfjs';
import type { TensorSpec } from '../core/fedbuff/layout.js';
import type { Tf } from './backend.js';

export interface Architecture {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly tensors: readonly TensorSpec[];
  readonly needsConvGradients: boolean;
  build(tf: Tf): TF.LayersModel;
}

const mlp: Architecture = {
  id: 'mnist-mlp-v1',
  inputShape: [784],
  classes: 10,
  needsConvGradients: false,
  tensors: [
    { name: 'hidden/kernel', shape: [784, 128] },
    { name: 'hidden/bias', shape: [128] },
    { name: 'output/kernel', shape: [128, 10] },
    { name: 'output/bias', shape: [10] },
  ],
  build: (tf) =>
    tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [784],
          units: 128,
          activation: 'relu',
          name: 'hidden',
          kernelInitializer: 'heNormal',
        }),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
      ],
    }),
};

const cnn: Architecture = {
  id: 'mnist-cnn-v1',
  inputShape: [28, 28, 1],
  classes: 10,
  needsConvGradients: true,
  tensors: [
    { name: 'conv1/kernel', shape: [5, 5, 1, 8] },
    { name: 'conv1/bias', shape: [8] },
    { name: 'conv2/kernel', shape: [5, 5, 8, 16] },
    { name: 'conv2/bias', shape: [16] },
    { name: 'output/kernel', shape: [256, 10] },
    { name: 'output/bias', shape: [10] },
  ],
  build: (tf) =>
    tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 8,
          kernelSize: 5,
          activation: 'relu',
          name: 'conv1',
        }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', name: 'conv2' }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
      ],
    }),
};

/** 11,626,506 parameters (46.5 MB in FLOAT32): the large-model case, far above one record. */
const wideMlp: Architecture = {
  id: 'mnist-mlp-wide-v1',
  inputShape: [784],
  classes: 10,
  needsConvGradients: false,
  tensors: [
    { name: 'hidden1/kernel', shape: [784, 4096] },
    { name: 'hidden1/bias', shape: [4096] },
    { name: 'hidden2/kernel', shape: [4096, 2048] },
    { name: 'hidden2/bias', shape: [2048] },
    { name: 'output/kernel', shape: [2048, 10] },
    { name: 'output/bias', shape: [10] },
  ],
  build: (tf) =>
    tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [784],
          units: 4096,
          activation: 'relu',
          name: 'hidden1',
          kernelInitializer: 'heNormal',
        }),
        tf.layers.dense({ units: 2048, activation: 'relu', name: 'hidden2', kernelInitializer: 'heNormal' }),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
      ],
    }),
};

export const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  [mlp.id]: mlp,
  [cnn.id]: cnn,
  [wideMlp.id]: wideMlp,
};

export function architecture(id: string): Architecture {
  const found = ARCHITECTURES[id];
  if (!found)
    throw new Error(`unknown architecture "${id}" (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
  return found;
}
