/**
 * The public shape of a task: what a user writes to federate their own model on their own data.
 * A task is plain data plus functions; both services load the same file and call only what they need
 * (the coordinator: model, evaluation data, defaults; a worker: model, training data, training).
 */
import type * as TF from '@tensorflow/tfjs';
import type { PartitionSpec } from '../core/partition.js';
import type { Tf } from '../ml/backend.js';

/** Values a task's own configuration may hold (it travels as JSON: TRIBUTARY_TASK_CONFIG, --set). */
export type TaskConfigValue = string | number | boolean;
export type TaskConfig = Readonly<Record<string, TaskConfigValue>>;

/** One batch: inputs and targets, first dimension = examples. The trainer disposes both after use. */
export type Batch = {
  readonly xs: TF.Tensor;
  readonly ys: TF.Tensor;
};

/**
 * Batches, produced lazily so a silo's data need not fit in memory (let alone twice): a
 * `tf.data.Dataset` of batches, or any (async) iterable of them. Each call of a data function gives
 * one pass (one epoch); it is called again for the next.
 */
export type BatchSource = AsyncIterable<Batch> | Iterable<Batch> | TF.data.Dataset<Batch>;

export interface ModelContext<C extends TaskConfig> {
  readonly tf: Tf;
  readonly config: C;
}

/** Who is asking for training data. `shard` and `partition` are set by `tributary run`'s simulation. */
export interface SiloContext<C extends TaskConfig> extends ModelContext<C> {
  readonly silo: string;
  readonly workerId: string;
  /** This worker's share of a simulated split (index of count); a real silo is 0 of 1. */
  readonly shard: { readonly index: number; readonly count: number };
  readonly partition: PartitionSpec;
  /** Seed of this pass: changes per task and epoch, so a shuffle differs between passes. */
  readonly seed: number;
  readonly epoch: number;
  readonly batchSize: number;
}

export interface EvaluationContext<C extends TaskConfig> extends ModelContext<C> {
  readonly batchSize: number;
}

/** Who is asking for a silo's holdout data, and for which global version. */
export interface HoldoutContext<C extends TaskConfig> extends EvaluationContext<C> {
  readonly silo: string;
  readonly workerId: string;
  readonly shard: { readonly index: number; readonly count: number };
  readonly version: number;
}

/** Where a streamed record came from. */
export interface StreamRecordMeta {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The Kafka record's timestamp. */
  readonly timestampMs: number;
  readonly key: string | null;
}

/** One example from a streamed record: features (featureShape, flattened) and a target. */
export interface StreamExample {
  readonly features: ArrayLike<number>;
  /** A class index (with `classes`), or `targetWidth` values. */
  readonly target: number | ArrayLike<number>;
  /** Default: the Kafka record's timestamp. */
  readonly timestampMs?: number;
  /** Default: `<topic>/<partition>/<offset>`. */
  readonly id?: string;
}

export interface StreamDefinition<C extends TaskConfig> {
  /** The silo's own topics. */
  topics(context: { silo: string; workerId: string; config: C }): string[];
  /** 'avro' (Confluent wire format, whatever schema the silo registered; the default) or 'json'. */
  readonly format?: 'avro' | 'json';
  /** A decoded record as an example; null (or a throw) skips it, counted. */
  map(record: unknown, meta: StreamRecordMeta, config: C): StreamExample | null;
  readonly featureShape: readonly number[];
  readonly classes?: number;
  readonly targetWidth?: number;
  /** The last `records` examples, and/or those at most `seconds` older than the newest. */
  readonly window: { readonly records: number; readonly seconds?: number };
  /** Where a worker with no committed position starts (default 'earliest'); afterwards it resumes. */
  readonly start?: 'earliest' | 'latest' | { readonly fromMs: number };
}

/** The hyperparameters a TrainTask carries (set by the coordinator, from the run's defaults). */
export interface LocalHyperparameters {
  readonly epochs: number;
  readonly steps: number | null;
  readonly batchSize: number;
  readonly learningRate: number;
  /** FedProx μ; null when off. */
  readonly proximalMu: number | null;
}

export interface LocalTrainingContext<C extends TaskConfig> extends ModelContext<C> {
  /** The model, holding the global weights the task names. Train it in place. */
  readonly model: TF.LayersModel;
  readonly hyperparameters: LocalHyperparameters;
  /** A fresh pass over this silo's data (one epoch). */
  batches(epoch: number): AsyncIterable<Batch>;
  /** The task's loss on (targets, predictions), mean over the batch. */
  loss(ys: TF.Tensor, predictions: TF.Tensor): TF.Scalar;
  /** True once the worker is shutting down: return (or throw) soon. */
  shouldStop(): boolean;
  /** Await now and then in long loops, so Kafka heartbeats are served. */
  yieldToEventLoop(): Promise<void>;
}

export interface LocalTrainingResult {
  /** Examples trained on (the update's weight under example averaging). */
  readonly numExamples: number;
  readonly loss: number;
  /** Extra figures for the update's metrics map (≤ 60 keys). */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** A metric on one batch: its mean over the batch's examples (averaged example-weighted). */
export type MetricFunction = (ys: TF.Tensor, predictions: TF.Tensor, tf: Tf) => TF.Scalar;

export type LossName =
  'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'meanSquaredError' | 'meanAbsoluteError';

/** Run defaults: a typed form of the coordinator's settings; environment and CLI flags override them. */
export interface RunDefaults {
  readonly strategy?: 'fedbuff' | 'fedavg';
  /** FedBuff's K: updates per server step. */
  readonly bufferSize?: number;
  /** C: tasks in flight. */
  readonly concurrency?: number;
  readonly maxStaleness?: number;
  readonly staleness?: 'constant' | 'polynomial' | 'hinge';
  readonly serverOptimizer?: 'sgd' | 'momentum' | 'adam' | 'yogi' | 'adagrad';
  readonly serverLearningRate?: number;
  readonly localEpochs?: number;
  readonly localSteps?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly proximalMu?: number;
  readonly taskDeadlineMs?: number;
  readonly targetAccuracy?: number;
  readonly maxVersions?: number;
  readonly maxWallSeconds?: number;
  readonly evaluateEvery?: number;
  /** Federated evaluation every this many versions (0: never; default 5 when the task has data.holdout). */
  readonly federatedEvaluateEvery?: number;
}

export interface TaskDefinition<C extends TaskConfig = TaskConfig> {
  /** Names the model on the wire (the manifest's architectureId): letters, digits, `.`, `_`, `-`. */
  readonly id: string;
  /** The task's own settings and their defaults; TRIBUTARY_TASK_CONFIG / --set override them. */
  readonly config?: C;
  /** Builds the model. Its weights, in `model.weights` order, are the wire layout. */
  model(context: ModelContext<C>): TF.LayersModel;
  /** Default 'categoricalCrossentropy' (one-hot targets, softmax outputs). */
  readonly loss?: LossName | ((ys: TF.Tensor, predictions: TF.Tensor, tf: Tf) => TF.Scalar);
  /** Names of a classifier's classes, in output order: per-class figures of federated evaluation use them. */
  readonly classNames?: readonly string[];
  /** Evaluation figures besides loss. Default: accuracy for cross-entropy losses, mse and mae otherwise. */
  readonly metrics?: Readonly<Record<string, MetricFunction>>;
  readonly data: {
    /** One pass over a silo's training data, in batches of `batchSize` (or give `stream`). */
    train?(context: SiloContext<C>): BatchSource | Promise<BatchSource>;
    /** The silo's data as Kafka topics, kept in a bounded window the worker trains on (instead of `train`). */
    stream?: StreamDefinition<C>;
    /** The coordinator's held-out data, if the task has a central test set. */
    evaluation?(context: EvaluationContext<C>): BatchSource | Promise<BatchSource>;
    /**
     * A silo's own held-out data, never trained on, for federated evaluation: the coordinator asks
     * each worker to evaluate a global version on it and aggregates the answers per silo and overall.
     * Called once per evaluation.
     */
    holdout?(context: HoldoutContext<C>): BatchSource | Promise<BatchSource>;
  };
  /** Replaces the default local training (SGD on the task's loss, FedProx term included). */
  train?(context: LocalTrainingContext<C>): Promise<LocalTrainingResult>;
  /**
   * Version 0's weights: the model's own initialisers ('model', the default; they are not seeded,
   * so runs differ) or seeded He-normal kernels and zero biases ('he-normal', reproducible).
   */
  readonly initialWeights?: 'model' | 'he-normal';
  readonly defaults?: RunDefaults;
}

/** A task after defineTask: validated, frozen, and marked so the loader can recognise it. */
export type Task<C extends TaskConfig = TaskConfig> = Readonly<TaskDefinition<C>> & {
  readonly kind: 'tributary-task';
};
