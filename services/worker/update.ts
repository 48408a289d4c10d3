/** A finished local training as its ModelUpdate records: the update id, metrics, and the delta in chunks. */
import { splitFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { toRecords } from '../../lib/wire/records.js';
import type { ModelUpdate, TrainTask } from '../../lib/wire/schemas.js';

/** The update carries at most 64 metrics; three are the worker's own. */
const MAX_TASK_METRICS = 60;

export interface LocalResult {
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
  /** CPU time training cost; absent where training time is simulated (the synthetic trainer). */
  readonly cpuSeconds?: number;
  readonly metrics?: Readonly<Record<string, number>>;
}

/** The update id is `<worker>-<task>`: a retried publication of the same task is the same update. */
export function updateRecords(
  task: TrainTask,
  workerId: string,
  result: LocalResult,
  timing: {
    taskReceivedAtMs: number;
    modelReadyAtMs: number;
    startedAtMs: number;
    finishedAtMs: number;
    delayMultiplier: number;
  },
  layout: ModelLayout,
  encoding: { encoding: TensorEncoding; maxChunkBytes: number },
): { updateId: string; records: ModelUpdate[] } {
  const updateId = `${workerId}-${task.taskId}`;
  const records = toRecords<ModelUpdate>(
    {
      updateId,
      taskId: task.taskId,
      jobId: task.jobId,
      workerId,
      baseVersion: task.baseVersion,
      numExamples: result.numExamples,
      metrics: {
        loss: result.loss,
        samplesPerSecond: result.samples / result.seconds,
        delayMultiplier: timing.delayMultiplier,
        // A task's own figures, after ours and within the update's limit on metrics.
        ...Object.fromEntries(Object.entries(result.metrics ?? {}).slice(0, MAX_TASK_METRICS)),
      },
      timings: {
        startedAtMs: timing.startedAtMs,
        finishedAtMs: timing.finishedAtMs,
        taskReceivedAtMs: timing.taskReceivedAtMs,
        modelReadyAtMs: timing.modelReadyAtMs,
      },
    },
    splitFlat(layout, result.delta),
    encoding.encoding,
    encoding.maxChunkBytes,
  );
  return { updateId, records };
}
