/**
 * A Sequential model of Dense layers (MLPs: MNIST's, tabular and sensor models) run as tfjs-core
 * ops on the layers' own weight variables, instead of through the layers engine. The arithmetic is
 * the Dense layer's own (its call(): a fused matMul with bias for relu, linear and elu; otherwise
 * matMul, bias, then the layer's activation), so outputs and gradients are the same; what goes is
 * the engine's per-call work (topological execution, hooks, a scope per layer). Its default training
 * also takes its gradients by hand (./dense-sgd.ts) where the loss and activations allow.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../ml/backend.js';

/** The activations TF.js fuses into matMul (tfjs-layers' mapActivationToFusedKernel). */
const FUSED = new Set(['relu', 'linear', 'elu']);

export interface DenseLayer {
  readonly kernel: { read(): TF.Variable };
  readonly bias: { read(): TF.Variable } | null;
  readonly activation: { getClassName(): string; apply(x: TF.Tensor): TF.Tensor };
  readonly trainable: boolean;
}

function isPlainDense(layer: TF.layers.Layer): boolean {
  if (layer.getClassName() !== 'Dense') return false;
  const dense = layer as unknown as Partial<DenseLayer>;
  return typeof dense.kernel?.read === 'function' && typeof dense.activation?.apply === 'function';
}

/** The model's layers when it is a Sequential stack of Dense layers over rank-2 inputs, else null. */
export function denseLayers(model: TF.LayersModel): readonly DenseLayer[] | null {
  if (model.getClassName() !== 'Sequential') return null;
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  if (layers.length === 0 || !layers.every(isPlainDense)) return null;
  if (model.inputs.length !== 1 || model.inputs[0]?.shape.length !== 2) return null;
  return layers as unknown as DenseLayer[];
}

/** One Dense layer's call on a rank-2 batch as separate ops: matMul, bias, then its activation. */
export function denseForward(tf: Tf, layer: DenseLayer, x: TF.Tensor): TF.Tensor {
  const product = tf.matMul(x as TF.Tensor2D, layer.kernel.read() as TF.Tensor2D);
  return layer.activation.apply(layer.bias ? tf.add(product, layer.bias.read()) : product);
}

/**
 * The model's forward pass as a function of a rank-2 input batch, when the model is a Sequential
 * stack of Dense layers over rank-2 inputs; null for any other model (use model.apply).
 */
export function denseChain(tf: Tf, model: TF.LayersModel): ((x: TF.Tensor) => TF.Tensor) | null {
  const layers = denseLayers(model);
  if (!layers) return null;
  const steps = layers.map((layer) => {
    const activation = layer.activation.getClassName();
    if (FUSED.has(activation))
      return (x: TF.Tensor) =>
        tf.fused.matMul({
          a: x as TF.Tensor2D,
          b: layer.kernel.read() as TF.Tensor2D,
          bias: layer.bias?.read(),
          activation: activation as 'relu' | 'linear' | 'elu',
        });
    return (x: TF.Tensor) => denseForward(tf, layer, x);
  });
  return (x) => steps.reduce((h, step) => step(h), x);
}
