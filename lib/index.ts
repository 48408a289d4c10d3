/**
 * Tributary's public API (`import { … } from 'tributary'`): define a task, and the helpers a task
 * needs. Everything else in this repository is internal and may change without notice.
 */
export { defineTask } from './task/define.js';
export type {
  Batch,
  BatchSource,
  EvaluationContext,
  HoldoutContext,
  LocalHyperparameters,
  LocalTrainingContext,
  LocalTrainingResult,
  LossName,
  MetricFunction,
  ModelContext,
  RunDefaults,
  SiloContext,
  StreamDefinition,
  StreamExample,
  StreamRecordMeta,
  Task,
  TaskConfig,
  TaskConfigValue,
  TaskDefinition,
} from './task/types.js';
export { arrayBatches, exampleCount, type InMemoryExamples } from './task/arrays.js';
export { loadTask, type LoadedTask } from './task/load.js';
export { layoutOfModel, LayoutMismatchError } from './task/layout.js';
export { partition, type PartitionSpec } from './core/partition.js';
export { seededRandom, shuffleInPlace, type Random } from './core/random.js';
export { ConfigError, ERROR_CODES, TributaryError, type ErrorCode } from './core/errors.js';
export type { Tf } from './ml/backend.js';
/** TF.js's tensor types, for a task's signatures (the `tf` a task is given is the one to call). */
export type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs';
