import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Tf } from '../../lib/ml/backend.js';
import type { Batch } from '../../lib/task/types.js';
import { HeldOutData } from './held-out.js';

/** Examples 0..count-1: features [i, -i], target [i % 3], in batches of `batchSize`. */
function* examples(count: number, batchSize: number): Generator<Batch> {
  for (let start = 0; start < count; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
    yield {
      xs: tf.tensor2d(
        ids.flatMap((i) => [i, -i]),
        [ids.length, 2],
      ),
      ys: tf.tensor2d(
        ids.map((i) => i % 3),
        [ids.length, 1],
      ),
    };
  }
}

/** A task's data function that counts its calls. */
function counted(count: number, make = examples) {
  const calls: number[] = [];
  const read = (batchSize: number) => {
    calls.push(batchSize);
    return make(count, batchSize);
  };
  return { calls, read };
}

/** One whole pass: each batch's size and content, every batch disposed as the evaluator does. */
async function pass(data: HeldOutData, batchSize: number) {
  const sizes: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for await (const b of data.batches(batchSize)) {
    sizes.push(b.xs.shape[0] ?? 0);
    xs.push(...b.xs.dataSync());
    ys.push(...b.ys.dataSync());
    tf.dispose([b.xs, b.ys]);
  }
  return { sizes, xs, ys };
}

const asTf = tf as unknown as Tf;

describe('HeldOutData', () => {
  it('reads the task once, then gives the same examples from memory in batches of any size', async () => {
    const { calls, read } = counted(10);
    const data = new HeldOutData(asTf, read);
    const first = await pass(data, 4);
    expect(first.sizes).toEqual([4, 4, 2]);
    expect(data.isKept).toBe(true);
    const again = await pass(data, 3);
    expect(again.sizes).toEqual([3, 3, 3, 1]);
    expect(again.xs).toEqual(first.xs);
    expect(again.ys).toEqual(first.ys);
    expect((await pass(data, 50)).sizes).toEqual([10]);
    expect(calls).toEqual([4]);
  });

  it('leaks no tensor: a kept set is two tensors, whatever the passes', async () => {
    const before = tf.memory().numTensors;
    const data = new HeldOutData(asTf, counted(10).read);
    await pass(data, 4);
    await pass(data, 3);
    await pass(data, 20);
    expect(tf.memory().numTensors - before).toBe(2);
  });

  it('reads a set larger than its bound from the task every time, keeping nothing', async () => {
    const before = tf.memory().numTensors;
    const { calls, read } = counted(10);
    // 10 examples × 3 floats × 4 bytes = 120 bytes; the bound holds 5 examples.
    const data = new HeldOutData(asTf, read, 60);
    const first = await pass(data, 4);
    const again = await pass(data, 4);
    expect(again).toEqual(first);
    expect(first.sizes).toEqual([4, 4, 2]);
    expect(data.isKept).toBe(false);
    expect(calls).toEqual([4, 4]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps nothing from a pass given up part way, and keeps the next whole one', async () => {
    const before = tf.memory().numTensors;
    const { calls, read } = counted(10);
    const data = new HeldOutData(asTf, read);
    for await (const b of data.batches(4)) {
      tf.dispose([b.xs, b.ys]);
      break;
    }
    expect(data.isKept).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    expect((await pass(data, 4)).sizes).toEqual([4, 4, 2]);
    expect(data.isKept).toBe(true);
    expect(calls).toEqual([4, 4]);
  });

  it('reads every time when the batches do not stack into one tensor', async () => {
    const before = tf.memory().numTensors;
    function* ragged(): Generator<Batch> {
      yield { xs: tf.zeros([2, 2]), ys: tf.zeros([2, 1]) };
      yield { xs: tf.zeros([2, 3]), ys: tf.zeros([2, 1]) };
    }
    const { calls, read } = counted(0, () => ragged());
    const data = new HeldOutData(asTf, read);
    expect((await pass(data, 2)).sizes).toEqual([2, 2]);
    expect((await pass(data, 2)).sizes).toEqual([2, 2]);
    expect(data.isKept).toBe(false);
    expect(calls).toEqual([2, 2]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
