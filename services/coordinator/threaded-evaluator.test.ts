import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import type { Evaluation } from '../../lib/task/model.js';
import type { Evaluator } from './evaluator.js';
import { EvaluationThread, threadedEvaluator, type EvaluationThreadData } from './threaded-evaluator.js';

/**
 * Real threads running small scripts in place of the task's model: the lifecycle under test (start,
 * ready, answers, failures, exits) is the thread's, not TensorFlow's. `loss` is the weights' sum.
 */
const ANSWERING = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage({ kind: 'ready', backend: 'script' });
parentPort.on('message', ({ id, weights }) => {
  if (weights[0] === -1) process.exit(3);
  const loss = weights.reduce((a, b) => a + b, 0);
  parentPort.postMessage({ kind: 'evaluated', id, evaluation: { loss, accuracy: 0.5, metrics: {}, examples: 1, classes: 0, confusion: [] } });
});`;
const FAILING_TO_START = `
require('node:worker_threads').parentPort.postMessage({ kind: 'start-failed', message: 'no task here' });
setTimeout(() => undefined, 60_000);`;

const DATA: EvaluationThreadData = { taskFile: '/nowhere', taskConfig: {}, tfThreads: 1 };
const log = createLogger({ component: 'test' }, { write: () => undefined });

function spawning(script: string): { spawn: () => Worker; count: () => number } {
  let count = 0;
  return {
    spawn: () => {
      count += 1;
      return new Worker(script, { eval: true });
    },
    count: () => count,
  };
}

/** An inline evaluator whose loss is -(the weights' sum): its answers are told apart from the thread's. */
const inline: Evaluator = {
  layout: { architectureId: 'a', tensors: [], totalSize: 2 } as unknown as Evaluator['layout'],
  backend: 'inline',
  evaluates: true,
  classNames: [],
  classes: null,
  ready: true,
  initialWeights: () => Promise.resolve(new Float32Array(2)),
  evaluate: async (w) =>
    ({
      loss: -w.reduce((a, b) => a + b, 0),
      accuracy: null,
      metrics: {},
      examples: 1,
      classes: 0,
      confusion: [],
    }) as Evaluation,
};

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('threadedEvaluator', () => {
  it('evaluates inline until the thread is ready, then on the thread, leaving the caller its weights', async () => {
    const { spawn, count } = spawning(ANSWERING);
    const thread = new EvaluationThread(DATA, log, spawn);
    const evaluator = threadedEvaluator(inline, thread);
    try {
      expect((await evaluator.evaluate(Float32Array.of(1, 2)))?.loss).toBe(-3); // starts the thread
      await until(() => thread.ready);
      const weights = Float32Array.of(4, 5);
      expect((await evaluator.evaluate(weights))?.loss).toBe(9);
      // A copy went: the caller's array may be the aggregator's live model.
      expect([...weights]).toEqual([4, 5]);
      expect(count()).toBe(1);
    } finally {
      await thread.close();
    }
  });

  it('stays inline for good when the thread cannot start', async () => {
    const { spawn, count } = spawning(FAILING_TO_START);
    const thread = new EvaluationThread(DATA, log, spawn);
    const evaluator = threadedEvaluator(inline, thread);
    try {
      thread.start();
      await expect(thread.evaluate(Float32Array.of(1))).rejects.toMatchObject({
        code: 'TRIB_CENTRAL_EVALUATION_FAILED',
        message: expect.stringContaining('no task here'),
      });
      // Long enough for the refused thread's exit to land: a later start must not spawn another.
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 3; i++) expect((await evaluator.evaluate(Float32Array.of(1, 1)))?.loss).toBe(-2);
      await new Promise((r) => setTimeout(r, 200));
      expect(thread.ready).toBe(false);
      expect(count()).toBe(1);
    } finally {
      await thread.close();
    }
  });

  it('fails the evaluation a thread was running when it exits, then starts another', async () => {
    const { spawn, count } = spawning(ANSWERING);
    const thread = new EvaluationThread(DATA, log, spawn);
    const evaluator = threadedEvaluator(inline, thread);
    try {
      thread.start();
      await until(() => thread.ready);
      await expect(evaluator.evaluate(Float32Array.of(-1))).rejects.toMatchObject({
        code: 'TRIB_CENTRAL_EVALUATION_FAILED',
        message: expect.stringContaining('code 3'),
      });
      expect(thread.ready).toBe(false);
      expect((await evaluator.evaluate(Float32Array.of(2, 2)))?.loss).toBe(-4); // inline; a new thread starts
      expect(thread.ready).toBe(false); // not before the new thread says so
      await until(() => thread.ready);
      expect((await evaluator.evaluate(Float32Array.of(2, 2)))?.loss).toBe(4);
      expect(count()).toBe(2);
    } finally {
      await thread.close();
    }
  });

  it('answers nothing once closed, and never evaluates a task without held-out data', async () => {
    const { spawn } = spawning(ANSWERING);
    const thread = new EvaluationThread(DATA, log, spawn);
    await thread.close();
    await expect(thread.evaluate(Float32Array.of(1))).rejects.toMatchObject({
      code: 'TRIB_CENTRAL_EVALUATION_FAILED',
    });
    const none = threadedEvaluator({ ...inline, evaluates: false }, thread);
    expect(await none.evaluate(Float32Array.of(1))).toBeNull();
  });
});
