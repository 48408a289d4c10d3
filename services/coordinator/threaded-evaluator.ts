/**
 * Central evaluation on a thread of its own (opt-in: TRIBUTARY_EVALUATION_THREAD=on). On the main
 * thread an evaluation, even sliced into short batches, holds back the folds and steps that arrive
 * behind each slice: with NumPy workers, FedBuff made 25–35% fewer versions than when evaluating
 * every 8th version, and the update that completed a version waited 25 ms in the coordinator
 * instead of 10. On this thread that wait fell to 12 ms and FedBuff made 6–16% more versions, but
 * on a 2-core machine shared with the broker and the workers, FedBuff reached 0.90 about 1.3×
 * later (the evaluations' CPU is taken from training), FedAvg level: hence off by default. Nor
 * does the thread at the lowest CPU priority (nice 19 on its thread id) help there: its evaluations
 * then wait for idle CPU and versions go unevaluated, so the first evaluated crossing of 0.90 came
 * later (10 seeds: FedBuff about 2.4× later, FedAvg 1.15×) for about as many versions.
 *
 * The thread loads the task's model and held-out data itself; the main thread sends a copy of a
 * version's weights (transferred) and gets its Evaluation back. Central evaluation's pacing (one
 * at a time, newest first, at most half of a core: ./central-evaluation.ts) is unchanged.
 *
 * If the thread fails to start, evaluation stays on the main thread, as before; if it exits later,
 * what it had fails (that version goes unevaluated) and evaluation is inline until another is ready.
 */
import { Worker } from 'node:worker_threads';
import { TributaryError } from '../../lib/core/errors.js';
import type { Evaluation } from '../../lib/task/model.js';
import type { TaskConfig } from '../../lib/task/types.js';
import type { Logger } from '../../lib/log.js';
import type { Evaluator } from './evaluator.js';

export interface EvaluationThreadData {
  readonly taskFile: string;
  /** The task's config as the coordinator resolved it (overrides included). */
  readonly taskConfig: TaskConfig;
  readonly tfThreads: number | null;
}

export type ToEvaluationThread = { readonly id: number; readonly weights: Float32Array };
export type FromEvaluationThread =
  | { readonly kind: 'ready'; readonly backend: string }
  | { readonly kind: 'start-failed'; readonly message: string }
  | { readonly kind: 'evaluated'; readonly id: number; readonly evaluation: Evaluation | null }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };

interface Pending {
  readonly resolve: (evaluation: Evaluation | null) => void;
  readonly reject: (error: Error) => void;
}

/** How to start the thread: its module, run as the coordinator runs (built JavaScript or tsx). */
function spawnThread(data: EvaluationThreadData): Worker {
  const here = new URL(import.meta.url);
  if (!here.pathname.endsWith('.ts'))
    return new Worker(new URL('./evaluation-thread.js', here), { workerData: data });
  // From source the coordinator runs under tsx, whose loader a worker thread does not inherit:
  // the thread's first act is to import its TypeScript module through tsx's API.
  const api = import.meta.resolve('tsx/esm/api');
  const file = new URL('./evaluation-thread.ts', here).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(file)}, ${JSON.stringify(file)}))`;
  return new Worker(code, { eval: true, workerData: data });
}

export class EvaluationThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Why the thread could not start (then nothing is retried). */
  private startError: string | null = null;
  private closed = false;
  /** The running thread has loaded the task and answers evaluations. */
  private answering = false;

  constructor(
    private readonly data: EvaluationThreadData,
    private readonly log: Logger,
    private readonly spawn: (data: EvaluationThreadData) => Worker = spawnThread,
  ) {}

  get ready(): boolean {
    return this.answering && this.worker !== null;
  }

  /** Starts the thread, unless it runs, is closed, or failed to start. It loads TensorFlow and the task. */
  start(): void {
    if (this.worker || this.closed || this.startError) return;
    const worker = this.spawn(this.data);
    // The coordinator's exit is not held up by its evaluation thread.
    worker.unref();
    worker.on('message', (message: FromEvaluationThread) => {
      if (this.worker === worker) this.received(message);
    });
    worker.on('error', (error) => this.ended(worker, error.message));
    worker.on('exit', (code) => this.ended(worker, `the evaluation thread exited (code ${code})`));
    this.worker = worker;
  }

  evaluate(weights: Float32Array): Promise<Evaluation | null> {
    if (this.startError) return Promise.reject(failure(this.startError));
    if (this.closed) return Promise.reject(failure('the evaluation thread was closed'));
    this.start();
    const id = this.nextId++;
    return new Promise<Evaluation | null>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A copy, transferred: the caller's array may be the aggregator's live model (version 0's
      // evaluation passes it as is), which a transfer would detach.
      const copy = weights.slice();
      this.worker?.postMessage({ id, weights: copy } satisfies ToEvaluationThread, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.rejectAll('the evaluation thread was closed');
    await worker?.terminate();
  }

  private received(message: FromEvaluationThread): void {
    if (message.kind === 'ready') {
      this.answering = true;
      this.log.info('evaluation-thread-ready', { backend: message.backend });
      return;
    }
    if (message.kind === 'start-failed') {
      this.log.error('evaluation-thread-start-failed', { reason: message.message });
      this.startError = message.message;
      this.rejectAll(message.message);
      void this.worker?.terminate();
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.kind === 'evaluated') waiting?.resolve(message.evaluation);
    else waiting?.reject(failure(message.message));
  }

  /** The thread ended (an error or an exit): what it had is lost; the next evaluation starts another. */
  private ended(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.answering = false;
    if (!this.closed && !this.startError) this.log.warn('evaluation-thread-ended', { reason });
    this.rejectAll(reason);
  }

  private rejectAll(reason: string): void {
    for (const { reject } of this.pending.values()) reject(failure(reason));
    this.pending.clear();
  }
}

function failure(message: string): TributaryError {
  return new TributaryError('TRIB_CENTRAL_EVALUATION_FAILED', `central evaluation: ${message}`);
}

/**
 * Evaluates on `thread` once it is ready, and inline until then: the first evaluation (version 0,
 * on the start-up path, or the first after a restore) starts the thread and runs inline, so neither
 * start-up nor failover waits for a second TensorFlow to load. A thread that cannot start leaves
 * evaluation inline for good.
 */
export function threadedEvaluator(inline: Evaluator, thread: EvaluationThread): Evaluator {
  return {
    ...inline,
    evaluate: async (weights) => {
      if (!inline.evaluates) return null;
      if (thread.ready) return thread.evaluate(weights);
      thread.start();
      return inline.evaluate(weights);
    },
  };
}
