/**
 * The wire contract: one Avro schema per message in schemas/*.avsc (versioned by file name, never
 * edited once published), parsed once with avsc, with the TypeScript shape of each message.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export const MESSAGE_SCHEMAS = {
  TrainTask: 'train-task.v1.avsc',
  ModelUpdate: 'model-update.v3.avsc',
  GlobalModel: 'global-model.v1.avsc',
  WorkerCheckIn: 'worker-check-in.v2.avsc',
  CoordinatorEvent: 'coordinator-event.v1.avsc',
  RejectedUpdate: 'rejected-update.v1.avsc',
  EvaluationTask: 'evaluation-task.v1.avsc',
  EvaluationReport: 'evaluation-report.v1.avsc',
} as const;
export type MessageName = keyof typeof MESSAGE_SCHEMAS;

export function schemaText(name: MessageName): string {
  return readFileSync(new URL(MESSAGE_SCHEMAS[name], `file://${SCHEMA_DIR}`), 'utf8');
}

const parsed = new Map<string, avro.Type>();
/** The avsc Type of a message (parsed once). */
export function messageType(name: MessageName): avro.Type {
  let type = parsed.get(name);
  if (!type) {
    type = avro.Type.forSchema(JSON.parse(schemaText(name)) as avro.Schema);
    parsed.set(name, type);
  }
  return type;
}

export interface WireTensorDescriptor {
  name: string;
  shape: number[];
  dtype: 'FLOAT32';
  encoding: 'FLOAT32' | 'FLOAT16' | 'INT8_AFFINE';
  byteLength: number;
  quantization: { scale: number; zeroPoint: number } | null;
}

export interface WireChunkInfo {
  index: number;
  count: number;
  offset: number;
  totalBytes: number;
  sha256: Buffer;
}

export interface TrainTask {
  taskId: string;
  jobId: string;
  workerId: string;
  baseVersion: number;
  hyperparameters: {
    localEpochs: number;
    localSteps: number | null;
    batchSize: number;
    learningRate: number;
    proximalMu: number | null;
  };
  issuedAtMs: number;
  deadlineMs: number;
}

export interface ModelUpdate {
  updateId: string;
  taskId: string;
  jobId: string;
  workerId: string;
  baseVersion: number;
  numExamples: number;
  tensors: WireTensorDescriptor[];
  data: Buffer;
  chunk: WireChunkInfo | null;
  metrics: Record<string, number>;
  timings: {
    startedAtMs: number;
    finishedAtMs: number;
    /** v3: when the worker received the task and had its base model (null from older workers). */
    taskReceivedAtMs?: number | null;
    modelReadyAtMs?: number | null;
  };
  /** v2: the silo's signature; absent or null when unsigned (and always null from a v1 writer). */
  signature?: UpdateSignature | null;
}

export interface UpdateSignature {
  silo: string;
  value: Buffer;
}

export interface GlobalModel {
  jobId: string;
  version: number;
  manifest: { architectureId: string; tensorNames: string[]; shapes: number[][]; dtypes: 'FLOAT32'[] };
  tensors: WireTensorDescriptor[];
  data: Buffer;
  chunk: WireChunkInfo | null;
  metrics: Record<string, number>;
  foldedUpdateIds: string[];
  publishedAtMs: number;
}

export interface WorkerCheckIn {
  workerId: string;
  jobId: string;
  silo: string;
  numExamples: number;
  capabilities: { backend: string; maxPayloadBytes: number };
  state: 'IDLE' | 'TRAINING' | 'LEAVING';
  currentTaskId: string | null;
  sentAtMs: number;
  problem: WorkerProblem | null;
}

export interface WorkerProblem {
  code: string;
  message: string;
  version: number | null;
  atMs: number;
}

export interface CoordinatorEvent {
  jobId: string;
  type: string;
  timeMs: number;
  version: number;
  workerId: string | null;
  updateId: string | null;
  numbers: Record<string, number>;
  labels: Record<string, string>;
}

export interface RejectedUpdate {
  jobId: string;
  code: string;
  message: string;
  updateId: string | null;
  workerId: string | null;
  source: { topic: string; partition: number; offset: number };
  originalBytes: Buffer;
  originalSize: number;
  rejectedAtMs: number;
}

export interface EvaluationTask {
  taskId: string;
  jobId: string;
  workerId: string;
  version: number;
  issuedAtMs: number;
  deadlineMs: number;
}

export interface EvaluationReport {
  taskId: string;
  jobId: string;
  workerId: string;
  silo: string;
  version: number;
  numExamples: number;
  loss: number;
  metrics: Record<string, number>;
  /** 0 when the task is not a classifier. */
  classes: number;
  /** classes × classes, row-major: row = true class, column = predicted. */
  confusion: number[];
  evaluatedAtMs: number;
}

export interface MessageTypes {
  TrainTask: TrainTask;
  ModelUpdate: ModelUpdate;
  GlobalModel: GlobalModel;
  WorkerCheckIn: WorkerCheckIn;
  CoordinatorEvent: CoordinatorEvent;
  RejectedUpdate: RejectedUpdate;
  EvaluationTask: EvaluationTask;
  EvaluationReport: EvaluationReport;
}
