/**
 * The warm-up on a real TaskModel (TF.js's cpu backend): how many steps it runs, what stops it, and
 * that it leaves nothing behind in the training that follows.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrayBatches } from '../../lib/task/arrays.js';
import { defineTask } from '../../lib/task/define.js';
import { TaskModel } from '../../lib/task/model.js';
import type { Batch } from '../../lib/task/types.js';
import { warmUpTraining } from './warm-up.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** 40 examples of two classes in 3-D: 5 batches of 8 a pass, shuffled by `seed`. */
const passOf = (seed: number): Batch[] => {
  const features = new Float32Array(40 * 3).map((_, i) => Math.sin(i * 12.9898) * 0.5 + (i % 2));
  const labels = new Uint8Array(40).map((_, i) => i % 2);
  return [...arrayBatches(tf, { features, featureShape: [3], labels, classes: 2 }, { batchSize: 8, seed })];
};

const task = defineTask({
  id: 'warm',
  initialWeights: 'he-normal',
  model: ({ tf }) =>
    tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    }),
  data: { train: () => passOf(0) },
});

const h = { batchSize: 8, learningRate: 0.1, proximalMu: null };
const model = () => new TaskModel(tf, task, {});

describe('warmUpTraining', () => {
  it('runs the budget’s steps, over as many passes as that takes', async () => {
    const m = model();
    const epochs: number[] = [];
    const outcome = await warmUpTraining(
      m,
      m.initialWeights(1),
      (epoch) => (epochs.push(epoch), passOf(epoch)),
      { steps: 12, maxCpuMs: 60_000 },
      h,
    );
    expect(outcome).toMatchObject({ steps: 12, stoppedBy: 'steps' });
    expect(epochs).toEqual([0, 1, 2]);
    expect(outcome.cpuMs).toBeGreaterThan(0);
  });

  it('stops when its CPU budget is spent, whatever steps remain', async () => {
    const m = model();
    let clock = 0;
    // Each reading of the CPU clock advances it 10 ms: the step after the budget's 50 ms is the last.
    const cpuMs = () => (clock += 10);
    const outcome = await warmUpTraining(
      m,
      m.initialWeights(1),
      passOf,
      { steps: 1000, maxCpuMs: 50 },
      h,
      cpuMs,
    );
    expect(outcome.stoppedBy).toBe('cpu');
    expect(outcome.steps).toBeGreaterThan(0);
    expect(outcome.steps).toBeLessThan(10);
  });

  it('stops, without error, when the silo has no data', async () => {
    const m = model();
    const outcome = await warmUpTraining(m, m.initialWeights(1), () => [], { steps: 10, maxCpuMs: 1000 }, h);
    expect(outcome).toMatchObject({ steps: 0, stoppedBy: 'data' });
  });

  it('does nothing with a budget of 0 steps', async () => {
    const m = model();
    let asked = 0;
    const outcome = await warmUpTraining(
      m,
      m.initialWeights(1),
      (epoch) => (asked++, passOf(epoch)),
      { steps: 0, maxCpuMs: 1000 },
      h,
    );
    expect(outcome.steps).toBe(0);
    expect(asked).toBe(0);
  });

  it('leaves the next task’s training exactly as without it', async () => {
    const start = model().initialWeights(7);
    const task = { epochs: 2, steps: null, ...h };
    const cold = model();
    const warmed = model();
    await warmUpTraining(
      warmed,
      warmed.initialWeights(3),
      passOf,
      { steps: 23, maxCpuMs: 60_000 },
      {
        ...h,
        learningRate: 0.5,
      },
    );
    const fromCold = await cold.train(start, task, (epoch) => passOf(100 + epoch));
    const fromWarmed = await warmed.train(start, task, (epoch) => passOf(100 + epoch));
    expect(fromCold).not.toBeNull();
    expect(Array.from(fromWarmed?.delta ?? [])).toEqual(Array.from(fromCold?.delta ?? []));
    expect(fromWarmed?.numExamples).toBe(fromCold?.numExamples);
    expect(fromWarmed?.loss).toBe(fromCold?.loss);
  });
});
