/**
 * A task's model as both services use it: flat weights in the wire layout in and out, the default
 * local training (SGD on the task's loss, plus FedProx's proximal term) or the task's own, and
 * evaluation with the task's metrics. The worker trains with it; the coordinator evaluates with it.
 */
import type * as TF from '@tensorflow/tfjs';
import type { ModelLayout } from '../core/fedbuff/layout.js';
import { seededRandom, standardNormal } from '../core/random.js';
import type { Tf } from '../ml/backend.js';
import { batchesOf } from './batches.js';
import { denseChain } from './dense-chain.js';
import { denseSgd, type DenseSgdStep } from './dense-sgd.js';
import { layoutOfModel } from './layout.js';
import type {
  Batch,
  BatchSource,
  LocalHyperparameters,
  LocalTrainingResult,
  MetricFunction,
  Task,
  TaskConfig,
} from './types.js';

export interface TrainingOutcome {
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
  /** CPU time of the whole process while training (all threads): what the work cost, without waiting. */
  readonly cpuSeconds: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface Evaluation {
  readonly loss: number;
  /** null for tasks without an accuracy metric (regression). */
  readonly accuracy: number | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly examples: number;
  /** Classes of a classifier (a cross-entropy loss), else 0. */
  readonly classes: number;
  /** classes × classes counts, row = true class, column = predicted (argmax); empty unless a classifier. */
  readonly confusion: readonly number[];
}

/** CPU seconds of this whole process (every thread) since `began`. */
function cpuSecondsSince(began: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(began);
  return (used.user + used.system) / 1e6;
}

/**
 * Seeded He-normal kernels (std √(2 / fan-in)) and zero vectors: the same version 0 in every run of
 * a job with the same seed (and in the Flower baseline).
 */
export function heInitialWeights(layout: ModelLayout, seed: number): Float32Array {
  const random = seededRandom(seed);
  const flat = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    if (t.shape.length < 2) continue;
    const fanIn = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < t.length; i++) flat[t.offset + i] = std * standardNormal(random);
  }
  return flat;
}

const CROSS_ENTROPY = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy'];

function lossFunction(task: Task, tf: Tf): (ys: TF.Tensor, p: TF.Tensor) => TF.Scalar {
  const loss = task.loss ?? 'categoricalCrossentropy';
  if (typeof loss === 'function') return (ys, p) => loss(ys, p, tf);
  const clip = (p: TF.Tensor) => tf.log(tf.clipByValue(p, 1e-7, 1));
  switch (loss) {
    case 'categoricalCrossentropy':
      return (ys, p) => tf.neg(tf.mean(tf.sum(tf.mul(ys, clip(p)), -1))) as TF.Scalar;
    case 'sparseCategoricalCrossentropy':
      return (ys, p) => {
        const oneHot = tf.oneHot(tf.cast(tf.reshape(ys, [-1]), 'int32'), p.shape[p.shape.length - 1] ?? 1);
        return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, clip(p)), -1))) as TF.Scalar;
      };
    case 'meanSquaredError':
      return (ys, p) => tf.losses.meanSquaredError(ys, p) as TF.Scalar;
    case 'meanAbsoluteError':
      return (ys, p) => tf.losses.absoluteDifference(ys, p) as TF.Scalar;
  }
}

function defaultMetrics(task: Task): Record<string, MetricFunction> {
  const loss = task.loss ?? 'categoricalCrossentropy';
  if (typeof loss === 'string' && CROSS_ENTROPY.includes(loss))
    return {
      accuracy: (ys, p, tf) => {
        const truth = loss === 'sparseCategoricalCrossentropy' ? tf.reshape(ys, [-1]) : tf.argMax(ys, -1);
        return tf.mean(tf.cast(tf.equal(tf.cast(truth, 'int32'), tf.argMax(p, -1)), 'float32')) as TF.Scalar;
      },
    };
  return {
    mse: (ys, p, tf) => tf.losses.meanSquaredError(ys, p) as TF.Scalar,
    mae: (ys, p, tf) => tf.losses.absoluteDifference(ys, p) as TF.Scalar,
  };
}

export class TaskModel<C extends TaskConfig = TaskConfig> {
  readonly model: TF.LayersModel;
  readonly layout: ModelLayout;
  readonly needsConvGradients: boolean;
  /** How the default training and evaluation run the model: ./dense-chain.ts, or the layers engine. */
  readonly forwardPath: 'dense-chain' | 'layers';
  /** How the default training takes gradients: derived by hand (./dense-sgd.ts), or TF.js's tape. */
  readonly gradientPath: 'derived' | 'tape';
  private readonly chain: ((x: TF.Tensor) => TF.Tensor) | null;
  private readonly sgdStep: DenseSgdStep | null;
  private readonly loss: (ys: TF.Tensor, p: TF.Tensor) => TF.Scalar;
  private readonly metrics: Record<string, MetricFunction>;

  constructor(
    readonly tf: Tf,
    readonly task: Task<C>,
    readonly config: C,
    /**
     * denseChain: false runs the layers engine and the tape even where ./dense-chain.ts covers the
     * model; derivedGradients: false keeps the Dense chain's forward pass but takes the tape's gradients.
     */
    options: { denseChain?: boolean; derivedGradients?: boolean } = {},
  ) {
    this.model = task.model({ tf, config });
    this.chain = options.denseChain === false ? null : denseChain(tf, this.model);
    this.forwardPath = this.chain ? 'dense-chain' : 'layers';
    this.sgdStep =
      this.chain && options.derivedGradients !== false
        ? denseSgd(tf, this.model, task.loss ?? 'categoricalCrossentropy')
        : null;
    this.gradientPath = this.sgdStep ? 'derived' : 'tape';
    this.layout = layoutOfModel(task.id, this.model);
    this.needsConvGradients = this.model.layers.some((l) => /Conv/.test(l.getClassName()));
    this.loss = lossFunction(task as Task, tf);
    this.metrics = { ...(task.metrics ?? defaultMetrics(task as Task)) };
  }

  /** Version 0: the model's own initial values, or seeded He-normal (the task's `initialWeights`). */
  initialWeights(seed: number): Float32Array {
    return this.task.initialWeights === 'he-normal' ? heInitialWeights(this.layout, seed) : this.getFlat();
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

  /** Trains from `start` on the passes `batches(epoch)` gives; returns start − trained, or null if stopped. */
  async train(
    start: Float32Array,
    hyperparameters: LocalHyperparameters,
    batches: (epoch: number) => BatchSource | Promise<BatchSource>,
    shouldStop: () => boolean = () => false,
  ): Promise<TrainingOutcome | null> {
    const began = performance.now();
    const cpuBegan = process.cpuUsage();
    let lastYield = began;
    const yieldToEventLoop = async () => {
      // Training is synchronous JS: yield so Kafka heartbeats and signals are served meanwhile.
      if (performance.now() - lastYield < 25) return;
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    };
    this.setFlat(start);
    let samples = 0;
    const counting = (epoch: number) =>
      (async function* (source: AsyncGenerator<Batch>) {
        for await (const batch of source) {
          samples += batch.xs.shape[0] ?? 0;
          yield batch;
        }
      })(batchesOf(batches(epoch)));
    let result: LocalTrainingResult | null;
    if (this.task.train) {
      result = await this.task.train({
        tf: this.tf,
        config: this.config,
        model: this.model,
        hyperparameters,
        batches: counting,
        loss: this.loss,
        shouldStop,
        yieldToEventLoop,
      });
      if (shouldStop()) result = null;
    } else result = await this.defaultTrain(hyperparameters, counting, shouldStop, yieldToEventLoop);
    if (!result) return null;
    const trained = this.getFlat();
    const delta = new Float32Array(start.length);
    for (let i = 0; i < delta.length; i++) delta[i] = (start[i] as number) - (trained[i] as number);
    return {
      delta,
      numExamples: result.numExamples,
      loss: result.loss,
      samples,
      seconds: (performance.now() - began) / 1000,
      cpuSeconds: cpuSecondsSince(cpuBegan),
      metrics: result.metrics ?? {},
    };
  }

  private async defaultTrain(
    h: LocalHyperparameters,
    batches: (epoch: number) => AsyncIterable<Batch>,
    shouldStop: () => boolean,
    yieldToEventLoop: () => Promise<void>,
  ): Promise<LocalTrainingResult | null> {
    const tf = this.tf;
    const optimizer = tf.train.sgd(h.learningRate);
    const anchors = h.proximalMu ? this.model.trainableWeights.map((w) => w.read().clone()) : [];
    let lossSum = 0;
    let seen = 0;
    let firstEpochExamples = 0;
    let steps = 0;
    try {
      for (let epoch = 0; h.steps !== null ? steps < h.steps : epoch < h.epochs; epoch++) {
        let inEpoch = 0;
        for await (const { xs, ys } of batches(epoch)) {
          const n = xs.shape[0] ?? 0;
          lossSum += this.sgdStep
            ? this.sgdStep(xs, ys, h.learningRate, h.proximalMu, anchors) * n
            : this.tapeStep(optimizer, xs, ys, h.proximalMu, anchors) * n;
          seen += n;
          inEpoch += n;
          steps += 1;
          tf.dispose([xs, ys]);
          if (shouldStop()) return null;
          await yieldToEventLoop();
          if (h.steps !== null && steps >= h.steps) break;
        }
        if (epoch === 0) firstEpochExamples = inEpoch;
        if (inEpoch === 0) break; // no data: nothing more will come
      }
    } finally {
      optimizer.dispose();
      tf.dispose(anchors);
    }
    return { numExamples: firstEpochExamples, loss: lossSum / Math.max(1, seen) };
  }

  /** One step of `optimizer` on the gradient TF.js's tape records; the batch's mean loss before it. */
  private tapeStep(
    optimizer: TF.Optimizer,
    xs: TF.Tensor,
    ys: TF.Tensor,
    proximalMu: number | null,
    anchors: readonly TF.Tensor[],
  ): number {
    const tf = this.tf;
    const loss = optimizer.minimize(() => {
      const predicted = this.chain ? this.chain(xs) : (this.model.apply(xs, { training: true }) as TF.Tensor);
      let value = this.loss(ys, predicted);
      if (proximalMu) {
        // FedProx (Li et al. 2020): + μ/2 Σ ||w − w_start||² over trainable weights.
        const penalty = this.model.trainableWeights.reduce(
          (sum, w, i) => sum.add(tf.sum(tf.square(tf.sub(w.read(), anchors[i] as TF.Tensor)))),
          tf.scalar(0),
        );
        value = value.add(penalty.mul(proximalMu / 2));
      }
      return value;
    }, true);
    const value = loss?.dataSync()[0] ?? 0;
    loss?.dispose();
    return value;
  }

  /** Output width of a classifier (a cross-entropy loss), else null: a confusion matrix's size. */
  get classes(): number | null {
    const loss = this.task.loss ?? 'categoricalCrossentropy';
    if (typeof loss !== 'string' || !CROSS_ENTROPY.includes(loss)) return null;
    const width = this.model.outputs[0]?.shape.at(-1);
    return typeof width === 'number' && width > 0 ? width : null;
  }

  /**
   * Loss and metrics of `weights` over one pass of `source`, example-weighted, and for a classifier
   * the confusion matrix (true class against argmax of the prediction).
   */
  async evaluate(weights: Float32Array, source: BatchSource | Promise<BatchSource>): Promise<Evaluation> {
    const tf = this.tf;
    this.setFlat(weights);
    const sums: Record<string, number> = { loss: 0 };
    for (const name of Object.keys(this.metrics)) sums[name] = 0;
    let examples = 0;
    const lossName = this.task.loss ?? 'categoricalCrossentropy';
    const classifier = typeof lossName === 'string' && CROSS_ENTROPY.includes(lossName);
    let classes = 0;
    let confusion: number[] = [];
    for await (const { xs, ys } of batchesOf(source)) {
      const n = xs.shape[0] ?? 0;
      const { values, truth, guess, width } = tf.tidy(() => {
        // The batch as one call: predict() splits it into batches of 32, each a pass through every
        // layer (the MNIST MLP's 2,000 test examples: 43 ms, against 8 ms as one batch).
        const predicted = this.chain ? this.chain(xs) : (this.model.predictOnBatch(xs) as TF.Tensor);
        const out: [string, TF.Scalar][] = [['loss', this.loss(ys, predicted)]];
        for (const [name, metric] of Object.entries(this.metrics))
          out.push([name, metric(ys, predicted, tf)]);
        const width = predicted.shape[predicted.shape.length - 1] ?? 0;
        const pairs = classifier
          ? {
              truth: (lossName === 'sparseCategoricalCrossentropy'
                ? tf.cast(tf.reshape(ys, [-1]), 'int32')
                : tf.argMax(ys, -1)
              ).dataSync(),
              guess: tf.argMax(predicted, -1).dataSync(),
            }
          : { truth: new Int32Array(0), guess: new Int32Array(0) };
        return { values: out.map(([name, t]) => [name, t.dataSync()[0] ?? 0] as const), width, ...pairs };
      });
      if (classifier && classes === 0 && width > 0) {
        classes = width;
        confusion = new Array<number>(width * width).fill(0);
      }
      for (let i = 0; i < truth.length; i++) {
        const t = truth[i] ?? -1;
        const g = guess[i] ?? -1;
        if (t >= 0 && t < classes && g >= 0 && g < classes)
          confusion[t * classes + g] = (confusion[t * classes + g] ?? 0) + 1;
      }
      for (const [name, value] of values) sums[name] = (sums[name] ?? 0) + value * n;
      examples += n;
      tf.dispose([xs, ys]);
    }
    const mean = (name: string) => (sums[name] ?? 0) / Math.max(1, examples);
    const metrics = Object.fromEntries(Object.keys(this.metrics).map((name) => [name, mean(name)]));
    return { loss: mean('loss'), accuracy: metrics.accuracy ?? null, metrics, examples, classes, confusion };
  }
}
