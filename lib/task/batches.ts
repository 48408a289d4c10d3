/** Any BatchSource as one async pass, and the cheap checks every batch gets before training. */
import type * as TF from '@tensorflow/tfjs';
import { TributaryError } from '../core/errors.js';
import type { Batch, BatchSource } from './types.js';

function isDataset(source: BatchSource): source is TF.data.Dataset<Batch> {
  return typeof (source as TF.data.Dataset<Batch>).iterator === 'function' && 'size' in source;
}

export async function* batchesOf(source: BatchSource | Promise<BatchSource>): AsyncGenerator<Batch> {
  const resolved = await source;
  if (isDataset(resolved)) {
    const iterator = await resolved.iterator();
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield checked(next.value);
    }
  }
  for await (const batch of resolved as AsyncIterable<Batch> | Iterable<Batch>) yield checked(batch);
}

function checked(batch: Batch): Batch {
  const ok =
    typeof batch === 'object' &&
    batch !== null &&
    typeof batch.xs?.shape === 'object' &&
    typeof batch.ys?.shape === 'object' &&
    batch.xs.shape[0] === batch.ys.shape[0];
  if (!ok)
    throw new TributaryError(
      'TRIB_TASK_LOAD_FAILED',
      'a data function yielded something other than { xs, ys } tensors with the same first dimension',
    );
  return batch;
}
