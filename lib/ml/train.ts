/**
 * Local training and evaluation with TF.js, in terms of flat weights in the manifest's layout:
 * the worker gets a flat model, trains, and returns the delta (sent − trained) that FedBuff folds;
 * the coordinator evaluates a flat model on its held-out data.
 */
import type * as TF from '@tensorflow/tfjs';
import type { ModelLayout } from '../core/fedbuff/layout.js';
import { seededRandom, shuffleInPlace, standardNormal } from '../core/random.js';
import type { Architecture } from './architectures.js';
import type { Tf } from './backend.js';
import type { LabelledImages } from './mnist.js';

export interface LocalTraining {
  readonly epochs: number;
  readonly steps: number | null;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly proximalMu: number | null;
  readonly seed: number;
}

export interface TrainingResult {
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
}

/**
 * Deterministic initial weights: He-normal kernels (std √(2 / fan-in)) and zero biases, from a
 * seeded generator, so every run of a job (and the Flower baseline) starts from the same model.
 */
export function heInitialWeights(layout: ModelLayout, seed: number): Float32Array {
  const random = seededRandom(seed);
  const flat = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    if (t.shape.length < 2) continue; // biases start at zero
    const fanIn = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < t.length; i++) flat[t.offset + i] = std * standardNormal(random);
  }
  return flat;
}

export class ModelRunner {
  readonly model: TF.LayersModel;

  constructor(
    readonly tf: Tf,
    readonly arch: Architecture,
    readonly layout: ModelLayout,
  ) {
    this.model = arch.build(tf);
    const shapes = this.model.getWeights().map((w) => w.shape.join('x'));
    const expected = layout.tensors.map((t) => t.shape.join('x'));
    if (shapes.join(',') !== expected.join(','))
      throw new Error(`architecture ${arch.id} builds [${shapes}] but declares [${expected}]`);
  }

  /** Deterministic initial weights (see heInitialWeights). */
  initialWeights(seed = 7): Float32Array {
    return heInitialWeights(this.layout, seed);
  }

  setFlat(flat: Float32Array): void {
    const tf = this.tf;
    const tensors = this.layout.tensors.map((t) =>
      tf.tensor(flat.subarray(t.offset, t.offset + t.length), [...t.shape]),
    );
    this.model.setWeights(tensors);
    tf.dispose(tensors);
  }

  getFlat(): Float32Array {
    const flat = new Float32Array(this.layout.size);
    this.model
      .getWeights()
      .forEach((w, i) => flat.set(w.dataSync() as Float32Array, this.layout.tensors[i]?.offset ?? 0));
    return flat;
  }

  private batch(data: LabelledImages, indices: readonly number[]): { x: TF.Tensor; y: TF.Tensor } {
    const tf = this.tf;
    const pixels = new Float32Array(indices.length * 784);
    const labels = new Int32Array(indices.length);
    indices.forEach((index, row) => {
      pixels.set(data.images.subarray(index * 784, (index + 1) * 784), row * 784);
      labels[row] = data.labels[index] as number;
    });
    const x = tf.tensor(pixels, [indices.length, ...this.arch.inputShape]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), this.arch.classes);
    return { x, y };
  }

  /** Trains from `start` on `data`; returns start − trained. */
  async train(
    start: Float32Array,
    data: LabelledImages,
    settings: LocalTraining,
    options: { yieldEveryMs?: number; shouldStop?: () => boolean } = {},
  ): Promise<TrainingResult | null> {
    const yieldEvery = options.yieldEveryMs ?? 25;
    let lastYield = performance.now();
    const tf = this.tf;
    const began = performance.now();
    this.setFlat(start);
    const optimizer = tf.train.sgd(settings.learningRate);
    const anchors = settings.proximalMu ? this.model.trainableWeights.map((w) => w.read().clone()) : [];
    const random = seededRandom(settings.seed);
    const order = Array.from({ length: data.count }, (_, i) => i);
    const batchesPerEpoch = Math.ceil(data.count / settings.batchSize);
    const totalSteps = settings.steps ?? settings.epochs * batchesPerEpoch;
    let lossSum = 0;
    let samples = 0;
    for (let step = 0; step < totalSteps; step++) {
      const inEpoch = step % batchesPerEpoch;
      if (inEpoch === 0) shuffleInPlace(order, random);
      if (yieldEvery && performance.now() - lastYield > yieldEvery) {
        // Training is synchronous JS: yield so Kafka heartbeats and signals are served meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      const indices = order.slice(inEpoch * settings.batchSize, (inEpoch + 1) * settings.batchSize);
      const { x, y } = this.batch(data, indices);
      const loss = optimizer.minimize(() => {
        const predicted = this.model.apply(x, { training: true }) as TF.Tensor;
        let value = tf.losses.softmaxCrossEntropy(y, tf.log(tf.clipByValue(predicted, 1e-7, 1))) as TF.Scalar;
        if (settings.proximalMu) {
          // FedProx (Li et al. 2020): + μ/2 Σ ||w − w_start||²
          const mu = settings.proximalMu;
          const penalty = this.model.trainableWeights.reduce(
            (sum, w, i) => sum.add(tf.sum(tf.square(tf.sub(w.read(), anchors[i] as TF.Tensor)))),
            tf.scalar(0),
          );
          value = value.add(penalty.mul(mu / 2));
        }
        return value;
      }, true);
      lossSum += (loss?.dataSync()[0] ?? 0) * indices.length;
      samples += indices.length;
      tf.dispose([x, y, loss as TF.Scalar]);
      if (options.shouldStop?.()) {
        optimizer.dispose();
        tf.dispose(anchors);
        return null;
      }
    }
    optimizer.dispose();
    tf.dispose(anchors);
    const trained = this.getFlat();
    const delta = new Float32Array(start.length);
    for (let i = 0; i < delta.length; i++) delta[i] = (start[i] as number) - (trained[i] as number);
    return {
      delta,
      numExamples: data.count,
      loss: lossSum / Math.max(1, samples),
      samples,
      seconds: (performance.now() - began) / 1000,
    };
  }

  evaluate(weights: Float32Array, data: LabelledImages, batchSize = 500): { accuracy: number; loss: number } {
    const tf = this.tf;
    this.setFlat(weights);
    let correct = 0;
    let lossSum = 0;
    for (let start = 0; start < data.count; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
      const { x, y } = this.batch(data, indices);
      const [c, l] = tf.tidy(() => {
        const predicted = this.model.predict(x) as TF.Tensor;
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(predicted, 1), tf.argMax(y, 1)), 'float32'));
        const loss = tf.sum(tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(predicted, 1e-7, 1))), 1)));
        return [hits.dataSync()[0] ?? 0, loss.dataSync()[0] ?? 0];
      });
      correct += c as number;
      lossSum += l as number;
      tf.dispose([x, y]);
    }
    return { accuracy: correct / data.count, loss: lossSum / data.count };
  }
}
