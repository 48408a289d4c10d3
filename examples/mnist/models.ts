/** The MNIST example's models. Layer names are the wire names of their weights (hidden/kernel, …). */
import type { Tf } from 'tributary';

export function buildModel(tf: Tf, kind: string | number | boolean) {
  switch (kind) {
    case 'mlp':
      return tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu', name: 'hidden' }),
          tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
        ],
      });
    case 'cnn':
      return tf.sequential({
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
      });
    case 'mlp-wide':
      return tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [784], units: 4096, activation: 'relu', name: 'hidden1' }),
          tf.layers.dense({ units: 2048, activation: 'relu', name: 'hidden2' }),
          tf.layers.dense({ units: 10, activation: 'softmax', name: 'output' }),
        ],
      });
    default:
      throw new Error(`config.model: must be mlp, cnn or mlp-wide, got ${JSON.stringify(kind)}`);
  }
}
