import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import type { Evaluation } from '../../lib/task/model.js';
import { CentralEvaluation, EVALUATION_SHARE, type EvaluatedVersion } from './central-evaluation.js';

/** An evaluator whose evaluations finish when the test says: each scores the model's first weight. */
function heldEvaluator(options: { evaluates?: boolean; failOn?: number } = {}) {
  const started: number[] = [];
  const pending: (() => void)[] = [];
  return {
    started,
    /** Finishes the oldest running evaluation, then lets the scheduler run on. */
    finishOne: async () => {
      pending.shift()?.();
      for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    },
    evaluator: {
      evaluates: options.evaluates ?? true,
      evaluate: async (weights: Float32Array): Promise<Evaluation | null> => {
        const seen = weights[0] ?? NaN; // read at once, as a real evaluator loads its weights
        started.push(seen);
        await new Promise<void>((resolve) => pending.push(resolve));
        if (seen === options.failOn) throw new Error('evaluation broke');
        return {
          loss: 1 - seen / 100,
          accuracy: seen / 100,
          metrics: {},
          examples: 10,
          classes: 0,
          confusion: [],
        };
      },
    },
  };
}

function scheduler(options: Parameters<typeof heldEvaluator>[0] = {}) {
  const held = heldEvaluator(options);
  const results: EvaluatedVersion[] = [];
  const logged: string[] = [];
  const pauses: number[] = [];
  let clock = 0;
  const central = new CentralEvaluation({
    evaluator: held.evaluator,
    now: () => (clock += 10),
    pause: async (ms) => void pauses.push(ms),
    log: createLogger({}, { write: (line) => logged.push(line) }),
    onEvaluated: async (result) => void results.push(result),
  });
  const model = (v: number) => Float32Array.of(v, 0, 0);
  return { central, held, results, logged, pauses, model };
}

describe('CentralEvaluation', () => {
  it('evaluates a version handed over while idle at once, and names it in the result', async () => {
    const { central, held, results, model } = scheduler();
    central.published(3, model(3));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(held.started).toEqual([3]);
    await held.finishOne();
    await central.idle();
    expect(results.map((r) => [r.version, r.evaluation.accuracy])).toEqual([[3, 0.03]]);
    const [r] = results;
    expect(r!.publishedAtMs).toBeLessThanOrEqual(r!.startedAtMs);
    expect(r!.startedAtMs).toBeLessThan(r!.finishedAtMs);
    expect(central.lastEvaluated).toBe(3);
  });

  it('keeps only the newest version waiting behind a running one, and counts the ones it skipped', async () => {
    const { central, held, results, model } = scheduler();
    central.published(1, model(1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const v of [2, 3, 4]) central.published(v, model(v));
    expect(central.skipped).toBe(2);
    await held.finishOne(); // 1 done, 4 starts
    expect(held.started).toEqual([1, 4]);
    await held.finishOne();
    await central.idle();
    expect(results.map((r) => r.version)).toEqual([1, 4]);
  });

  it('evaluates the weights as they were when handed over, not as the aggregator steps them later', async () => {
    const { central, held, results } = scheduler();
    const live = Float32Array.of(10, 0);
    central.published(1, live);
    const second = Float32Array.of(20, 0);
    central.published(2, second);
    second[0] = 99; // the aggregator's next step, in place
    live[0] = 98;
    await held.finishOne();
    await held.finishOne();
    await central.idle();
    expect(held.started).toEqual([10, 20]);
    expect(results.map((r) => r.evaluation.accuracy)).toEqual([0.1, 0.2]);
  });

  it('never goes back to an older version than one already evaluated', async () => {
    const { central, held, results, model } = scheduler();
    central.published(5, model(5));
    await held.finishOne();
    await central.idle();
    central.published(4, model(4));
    central.published(5, model(5));
    await central.idle();
    expect(held.started).toEqual([5]);
    expect(results).toHaveLength(1);
  });

  it('idle() waits for the running and the waiting evaluation', async () => {
    const { central, held, results, model } = scheduler();
    central.published(1, model(1));
    central.published(2, model(2));
    let idle = false;
    const done = central.idle().then(() => (idle = true));
    await held.finishOne();
    expect(idle).toBe(false);
    await held.finishOne();
    await done;
    expect(results.map((r) => r.version)).toEqual([1, 2]);
  });

  it('after stop() drops the waiting version and reports nothing, not even the running one', async () => {
    const { central, held, results, model } = scheduler();
    central.published(1, model(1));
    central.published(2, model(2));
    await new Promise<void>((resolve) => setImmediate(resolve));
    central.stop();
    central.published(3, model(3));
    await held.finishOne();
    await central.idle();
    expect(held.started).toEqual([1]);
    expect(results).toEqual([]);
  });

  it('logs a failed evaluation and goes on to the next version', async () => {
    const { central, held, results, logged, model } = scheduler({ failOn: 1 });
    central.published(1, model(1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    central.published(2, model(2));
    await held.finishOne();
    await held.finishOne();
    await central.idle();
    expect(results.map((r) => r.version)).toEqual([2]);
    expect(logged.some((line) => line.includes('evaluation-failed') && line.includes('"version":1'))).toBe(
      true,
    );
  });

  it('does nothing for a task without central evaluation data', async () => {
    const { central, held, results, model } = scheduler({ evaluates: false });
    central.published(1, model(1));
    await central.idle();
    expect(held.started).toEqual([]);
    expect(results).toEqual([]);
    expect(central.skipped).toBe(0);
  });

  it('pauses before the next evaluation so evaluating takes at most its share of the time, and only when one waits', async () => {
    const { central, held, results, pauses, model } = scheduler();
    central.published(1, model(1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    central.published(2, model(2));
    await held.finishOne(); // 2 waits behind 1
    await held.finishOne();
    await central.idle();
    const took = results[0]!.finishedAtMs - results[0]!.startedAtMs;
    expect(took).toBeGreaterThan(0);
    expect(EVALUATION_SHARE).toBeGreaterThan(0);
    expect(pauses).toEqual([took * (1 / EVALUATION_SHARE - 1)]); // after 1, not after 2 (nothing waited)
  });
});
