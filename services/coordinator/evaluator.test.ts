import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../lib/task/types.js';
import type { Slice } from './evaluation-batches.js';
import { timedGivingWay } from './evaluator.js';

function batch(n: number): Batch {
  return { xs: tf.zeros([n, 2]), ys: tf.zeros([n, 1]) };
}

describe('timedGivingWay', () => {
  it("records each batch's examples and the time its consumer held it", async () => {
    let clock = 0;
    const slices: Slice[] = [];
    const seen: number[] = [];
    for await (const b of timedGivingWay([batch(3), batch(5), batch(2)], () => clock, slices)) {
      seen.push(b.xs.shape[0] ?? 0);
      clock += 10 * seen.length; // the consumer's work on this batch
      tf.dispose([b.xs, b.ys]);
    }
    expect(seen).toEqual([3, 5, 2]);
    expect(slices).toEqual([
      { examples: 3, ms: 10 },
      { examples: 5, ms: 20 },
      { examples: 2, ms: 30 },
    ]);
  });

  it('gives way to the event loop between batches', async () => {
    const order: string[] = [];
    const slices: Slice[] = [];
    setImmediate(() => order.push('other work'));
    for await (const b of timedGivingWay([batch(1), batch(1)], () => 0, slices)) {
      order.push('batch');
      tf.dispose([b.xs, b.ys]);
    }
    expect(order).toEqual(['batch', 'other work', 'batch']);
  });
});
