/** One fixed sample of each message, for golden-bytes fixtures (schemas/fixtures/*.hex) and docs. */
import type { MessageTypes } from './schemas.js';

const tensor = {
  name: 'dense/kernel',
  shape: [2, 2],
  dtype: 'FLOAT32' as const,
  encoding: 'INT8_AFFINE' as const,
  byteLength: 4,
  quantization: { scale: 0.5, zeroPoint: -3 },
};

export const SAMPLE_MESSAGES: MessageTypes = {
  TrainTask: {
    taskId: 'task-0001',
    jobId: 'mnist',
    workerId: 'worker-a',
    baseVersion: 7,
    hyperparameters: {
      localEpochs: 1,
      localSteps: null,
      batchSize: 32,
      learningRate: 0.05,
      proximalMu: 0.01,
    },
    issuedAtMs: 1_790_000_000_000,
    deadlineMs: 1_790_000_060_000,
  },
  ModelUpdate: {
    updateId: 'update-0001',
    taskId: 'task-0001',
    jobId: 'mnist',
    workerId: 'worker-a',
    baseVersion: 7,
    numExamples: 1250,
    tensors: [tensor],
    data: Buffer.from([1, 2, 253, 128]),
    chunk: { index: 0, count: 2, offset: 0, totalBytes: 8, sha256: Buffer.alloc(32, 0xab) },
    metrics: { loss: 0.25 },
    timings: { startedAtMs: 1_790_000_001_000, finishedAtMs: 1_790_000_031_000 },
  },
  GlobalModel: {
    jobId: 'mnist',
    version: 8,
    manifest: {
      architectureId: 'mnist-mlp-v1',
      tensorNames: ['dense/kernel'],
      shapes: [[2, 2]],
      dtypes: ['FLOAT32'],
    },
    tensors: [{ ...tensor, encoding: 'FLOAT32', byteLength: 16, quantization: null }],
    data: Buffer.from(new Float32Array([1, -1, 0.5, 0]).buffer),
    chunk: null,
    metrics: { testAccuracy: 0.9, testLoss: 0.3 },
    publishedAtMs: 1_790_000_040_000,
  },
  WorkerCheckIn: {
    workerId: 'worker-a',
    jobId: 'mnist',
    silo: 'plant-3',
    numExamples: 1250,
    capabilities: { backend: 'cpu', maxPayloadBytes: 4_194_304 },
    state: 'IDLE',
    currentTaskId: null,
    sentAtMs: 1_790_000_000_500,
  },
};
