/**
 * One SGD step of a Dense chain (./dense-chain.ts) with its gradient derived by hand instead of
 * recorded on TF.js's gradient tape, for the built-in losses. A step of MNIST's MLP is then about
 * 20 native ops instead of about 60: the tape's bookkeeping, relu's gradient (seven ops in
 * tfjs-node), the per-variable optimizer ops and the loss's ops go. `npm run bench -- backends`
 * measures both paths.
 *
 * The arithmetic is the tape's: the loss and its gradient at the output are computed in JS from
 * the batch's predictions and targets (batch × outputs values), including cross-entropy's clip of
 * probabilities to [1e-7, 1], whose gradient is zero outside it; then the output activation's
 * gradient, and matMuls back through the layers. The learning rate multiplies the output gradient
 * once, so each weight's update is one subtraction.
 */
import type * as TF from '@tensorflow/tfjs';
import { TributaryError } from '../core/errors.js';
import type { Tf } from '../ml/backend.js';
import { denseForward, denseLayers, type DenseLayer } from './dense-chain.js';
import type { LossName } from './types.js';

/** Hidden activations whose derivative is a function of their output. */
const HIDDEN = new Set(['relu', 'linear', 'sigmoid', 'tanh']);
/** Output activations whose gradient is derived in JS (outputGradient). */
const OUTPUT = new Set(['softmax', 'relu', 'linear', 'sigmoid', 'tanh']);
const CLIP_MIN = 1e-7;

export interface DenseSgdStep {
  /**
   * Moves the model's weights one SGD step on the batch and returns the batch's mean loss before
   * it, FedProx's μ/2 Σ‖w − anchor‖² included. `anchors` hold the start weights in
   * `model.trainableWeights` order (used only when `proximalMu` is set).
   */
  (
    xs: TF.Tensor,
    ys: TF.Tensor,
    learningRate: number,
    proximalMu: number | null,
    anchors: readonly TF.Tensor[],
  ): number;
}

/**
 * The step for `model` and `loss`, or null when the model is not a Dense chain with trainable
 * layers, an activation outside the sets above, or the loss is the task's own function.
 */
export function denseSgd(
  tf: Tf,
  model: TF.LayersModel,
  loss: LossName | ((...args: never[]) => unknown),
): DenseSgdStep | null {
  if (typeof loss !== 'string') return null;
  const layers = denseLayers(model);
  if (!layers || layers.some((layer) => !layer.trainable)) return null;
  const activations = layers.map((layer) => layer.activation.getClassName());
  const outputActivation = activations.at(-1) ?? '';
  if (!OUTPUT.has(outputActivation) || !activations.slice(0, -1).every((a) => HIDDEN.has(a))) return null;
  // Softmax's gradient is taken only with cross-entropy, the pairing it is built for.
  const crossEntropy = loss === 'categoricalCrossentropy' || loss === 'sparseCategoricalCrossentropy';
  if (crossEntropy !== (outputActivation === 'softmax')) return null;
  const anchorIndex = new Map(model.trainableWeights.map((w, i) => [w.read(), i]));

  return (xs, ys, learningRate, proximalMu, anchors) => {
    const n = xs.shape[0] ?? 0;
    let meanLoss = 0;
    tf.tidy(() => {
      const outputs: TF.Tensor[] = [xs];
      // Unfused: tfjs-node's fused matMul runs the same three ops in a scope of its own, and took
      // 352 against 193 µs for the MNIST MLP's forward pass on one thread, alternating.
      for (const layer of layers) outputs.push(denseForward(tf, layer, outputs.at(-1) as TF.Tensor));
      const predicted = outputs.at(-1) as TF.Tensor;
      const width = predicted.shape[1] ?? 0;
      const { loss: value, gradient } = outputGradient(
        loss,
        outputActivation,
        predicted.dataSync() as Float32Array,
        ys.dataSync(),
        n,
        width,
        learningRate,
      );
      const grads = backward(tf, layers, activations, outputs, tf.tensor2d(gradient, [n, width]));
      meanLoss = value;
      // FedProx: each weight's distance from its anchor, for the penalty and for the pull.
      const drift = grads.map(({ variable }) => {
        const anchor = proximalMu ? anchors[anchorIndex.get(variable) ?? -1] : undefined;
        return anchor ? tf.sub(variable, anchor) : null;
      });
      for (const d of drift)
        if (d) meanLoss += ((proximalMu ?? 0) / 2) * (tf.sum(tf.square(d)).dataSync()[0] ?? 0);
      // Every gradient is taken before any weight moves: a layer's input gradient uses its kernel.
      grads.forEach(({ variable, step }, i) => {
        const d = drift[i];
        const moved = d
          ? tf.sub(tf.sub(variable, step), tf.mul(d, learningRate * (proximalMu ?? 0)))
          : tf.sub(variable, step);
        variable.assign(moved);
      });
    });
    return meanLoss;
  };
}

/** learning rate × ∂loss/∂(pre-activation) of each layer's weights, from the last layer back. */
function backward(
  tf: Tf,
  layers: readonly DenseLayer[],
  activations: readonly string[],
  outputs: readonly TF.Tensor[],
  outputGradient: TF.Tensor,
): { variable: TF.Variable; step: TF.Tensor }[] {
  const grads: { variable: TF.Variable; step: TF.Tensor }[] = [];
  let delta = outputGradient;
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l] as DenseLayer;
    const input = outputs[l] as TF.Tensor2D;
    grads.push({ variable: layer.kernel.read(), step: tf.matMul(input, delta as TF.Tensor2D, true, false) });
    if (layer.bias) grads.push({ variable: layer.bias.read(), step: tf.sum(delta, 0) });
    if (l === 0) break;
    const upstream = tf.matMul(delta as TF.Tensor2D, layer.kernel.read() as TF.Tensor2D, false, true);
    delta = hiddenGradient(tf, activations[l - 1] ?? 'linear', input, upstream);
  }
  return grads;
}

/** ∂/∂(pre-activation) from ∂/∂(output), for the HIDDEN activations, as a function of the output. */
function hiddenGradient(tf: Tf, activation: string, output: TF.Tensor, upstream: TF.Tensor): TF.Tensor {
  switch (activation) {
    case 'relu': // the output is 0 or positive: its sign is relu's derivative (0 at 0, as the tape's)
      return tf.mul(upstream, tf.sign(output));
    case 'sigmoid':
      return tf.mul(upstream, tf.mul(output, tf.sub(1, output)));
    case 'tanh':
      return tf.mul(upstream, tf.sub(1, tf.square(output)));
    default:
      return upstream;
  }
}

/**
 * The batch's mean loss, and learning rate × ∂(mean loss)/∂(pre-activation of the output layer),
 * from the predictions `p` and targets `y` (class indices for sparse cross-entropy).
 */
export function outputGradient(
  loss: LossName,
  activation: string,
  p: Float32Array,
  y: ArrayLike<number>,
  n: number,
  width: number,
  learningRate: number,
): { loss: number; gradient: Float32Array } {
  const sparse = loss === 'sparseCategoricalCrossentropy';
  if (p.length !== n * width || y.length !== (sparse ? n : n * width))
    throw new TributaryError(
      'TRIB_TASK_LOAD_FAILED',
      `the batch's targets (${y.length} values) do not fit the model's outputs (${n} × ${width}) under ${loss}`,
    );
  const dp = new Float64Array(n * width); // ∂(mean loss)/∂p
  let total = 0;
  if (loss === 'categoricalCrossentropy' || sparse) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < width; j++) {
        // tf.cast to int32 truncates; a label outside the classes one-hot encodes to a zero row.
        const target = sparse ? (Math.trunc(y[i] as number) === j ? 1 : 0) : (y[i * width + j] as number);
        if (target === 0) continue;
        const probability = p[i * width + j] as number;
        const clipped = Math.min(1, Math.max(CLIP_MIN, probability));
        total -= target * Math.log(clipped);
        if (probability >= CLIP_MIN && probability <= 1) dp[i * width + j] = -target / (n * probability);
      }
    total /= n;
  } else {
    const count = n * width;
    for (let k = 0; k < count; k++) {
      const error = (p[k] as number) - (y[k] as number);
      total += loss === 'meanSquaredError' ? error * error : Math.abs(error);
      // |y − p|'s derivative as the tape takes it: step(y − p, −1), so −1 only where y > p.
      dp[k] = loss === 'meanSquaredError' ? (2 * error) / count : (error < 0 ? -1 : 1) / count;
    }
    total /= Math.max(1, count);
  }
  const gradient = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const row = i * width;
    // Softmax: ∂z_j = p_j (∂p_j − Σ_k ∂p_k p_k).
    let dot = 0;
    if (activation === 'softmax')
      for (let j = 0; j < width; j++) dot += (dp[row + j] as number) * (p[row + j] as number);
    for (let j = 0; j < width; j++)
      gradient[row + j] =
        learningRate * activationDerivative(activation, p[row + j] as number, dp[row + j] as number, dot);
  }
  return { loss: total, gradient };
}

/** ∂/∂z from ∂/∂a = `upstream` for an output a = activation(z); `dot` is softmax's Σ ∂p_k p_k. */
function activationDerivative(activation: string, a: number, upstream: number, dot: number): number {
  switch (activation) {
    case 'softmax':
      return a * (upstream - dot);
    case 'relu':
      return a > 0 ? upstream : 0;
    case 'sigmoid':
      return upstream * a * (1 - a);
    case 'tanh':
      return upstream * (1 - a * a);
    default:
      return upstream;
  }
}
