/**
 * The central test set, read from the task at the first evaluation and kept as one pair of tensors:
 * it is the same data every time, and reading it again cost every evaluation its copying (the MNIST
 * task: 2,000 examples, about 4 ms of the coordinator's thread a version, a tenth of all it did)
 * beside the model's own work. A set larger than MAX_KEPT_BYTES as tensors, or whose batches do not
 * stack into one tensor, is read from the task for every evaluation instead, as before.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../../lib/ml/backend.js';
import { batchesOf } from '../../lib/task/batches.js';
import type { Batch, BatchSource } from '../../lib/task/types.js';

export const MAX_KEPT_BYTES = 256 * 1024 * 1024;

interface Kept {
  readonly xs: TF.Tensor;
  readonly ys: TF.Tensor;
  readonly examples: number;
}

const bytesOf = (t: TF.Tensor) => t.size * (t.dtype === 'complex64' ? 8 : 4);

export class HeldOutData {
  private kept: Kept | null = null;
  /** Whether the set has been found unfit to keep (too large, or batches that do not stack). */
  private readEveryTime = false;

  constructor(
    private readonly tf: Tf,
    /** The task's evaluation data in batches of the given size. */
    private readonly read: (batchSize: number) => BatchSource | Promise<BatchSource>,
    private readonly maxBytes = MAX_KEPT_BYTES,
  ) {}

  /** Whether the set is kept in memory (after a first, whole pass over it). */
  get isKept(): boolean {
    return this.kept !== null;
  }

  /** One pass over the set in batches of `batchSize` examples (the last may be smaller); the consumer disposes each. */
  async *batches(batchSize: number): AsyncGenerator<Batch> {
    if (this.kept) {
      yield* this.slices(this.kept, Math.max(1, Math.floor(batchSize)));
      return;
    }
    // Clones share the batch's data: the consumer disposing a batch leaves its clone whole.
    let parts: Batch[] | null = this.readEveryTime ? null : [];
    let bytes = 0;
    const forget = () => {
      if (parts) this.tf.dispose(parts.flatMap((p) => [p.xs, p.ys]));
      parts = null;
    };
    try {
      for await (const batch of batchesOf(this.read(batchSize))) {
        if (parts) {
          bytes += bytesOf(batch.xs) + bytesOf(batch.ys);
          if (bytes > this.maxBytes) {
            forget();
            this.readEveryTime = true;
          } else parts.push({ xs: this.tf.clone(batch.xs), ys: this.tf.clone(batch.ys) });
        }
        yield batch;
      }
      if (parts && parts.length > 0) this.keep(parts);
    } finally {
      // A pass given up part way (or a set found unfit) keeps nothing; the next pass reads again.
      forget();
    }
  }

  private keep(parts: readonly Batch[]): void {
    let xs: TF.Tensor | null = null;
    try {
      xs = this.tf.concat(parts.map((p) => p.xs));
      const ys = this.tf.concat(parts.map((p) => p.ys));
      this.kept = { xs, ys, examples: xs.shape[0] ?? 0 };
    } catch {
      // Batches of different shapes or types: nothing to stack, so read the task every time.
      if (xs) this.tf.dispose(xs);
      this.readEveryTime = true;
    }
  }

  private *slices(kept: Kept, batchSize: number): Generator<Batch> {
    const tf = this.tf;
    if (batchSize >= kept.examples) {
      yield { xs: tf.clone(kept.xs), ys: tf.clone(kept.ys) };
      return;
    }
    for (let start = 0; start < kept.examples; start += batchSize) {
      const n = Math.min(batchSize, kept.examples - start);
      yield { xs: tf.slice(kept.xs, [start], [n]), ys: tf.slice(kept.ys, [start], [n]) };
    }
  }
}
