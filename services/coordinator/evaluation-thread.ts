/**
 * The central evaluation thread (./threaded-evaluator.ts starts it): the task's model and held-out
 * data loaded a second time, off the coordinator's main thread, answering one weights message with
 * one evaluation. Nothing here touches Kafka.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadTf } from '../../lib/ml/backend.js';
import { loadTask } from '../../lib/task/load.js';
import { TaskModel } from '../../lib/task/model.js';
import { taskEvaluator } from './evaluator.js';
import type { EvaluationThreadData, FromEvaluationThread, ToEvaluationThread } from './threaded-evaluator.js';

/**
 * Batches here block only this thread, so they can be as large as TensorFlow likes (few calls);
 * the bound keeps a large model's batch from holding memory it does not need.
 */
const THREAD_SLICE_MS = 200;

async function start(port: NonNullable<typeof parentPort>, data: EvaluationThreadData): Promise<void> {
  const post = (message: FromEvaluationThread) => port.postMessage(message);
  try {
    const loaded = await loadTask(data.taskFile, { overrides: data.taskConfig });
    const { tf, backend } = await loadTf({ needsConvGradients: false, threads: data.tfThreads });
    const evaluator = taskEvaluator(
      new TaskModel(tf, loaded.task, loaded.config),
      backend,
      0,
      THREAD_SLICE_MS,
    );
    // One at a time, in order: the main side sends the next only after this one's answer.
    port.on('message', (message: ToEvaluationThread) => {
      evaluator.evaluate(message.weights).then(
        (evaluation) => post({ kind: 'evaluated', id: message.id, evaluation }),
        (error: unknown) => post({ kind: 'failed', id: message.id, message: describe(error) }),
      );
    });
    post({ kind: 'ready', backend });
  } catch (error) {
    post({ kind: 'start-failed', message: describe(error) });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

if (parentPort) void start(parentPort, workerData as EvaluationThreadData);
