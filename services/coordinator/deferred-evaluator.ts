/**
 * The task's model, loaded after a restored job has resumed. Aggregation needs no TensorFlow: a
 * checkpoint holds the model's layout and weights, so a replacement coordinator folds and steps
 * from it at once. Loading native TensorFlow and building the model holds the process's only
 * thread for 0.5–1 s (native TensorFlow loaded 1.2–1.8 s after the kill on this 2-core Xeon, over
 * several sittings), which stood between a SIGKILL and the job's next version. Here it waits until the model is first
 * wanted (an evaluation, or a fresh start's weights) or `loadAfterMs` has passed, whichever is first.
 *
 * Until then: no central evaluation has run (the first waits for the load), and `ready` is false,
 * which federated evaluation reads to open no round it could not check reports against (the model's
 * class count bounds a report's matrix). Once loaded, the task's layout must be the checkpoint's: a
 * task changed under a running job is refused with TRIB_LAYOUT_MISMATCH rather than folded into.
 */
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { assertSameLayout } from '../../lib/task/layout.js';
import type { Evaluation } from '../../lib/task/model.js';
import type { Evaluator } from './evaluator.js';

/** What is known of the model before it is loaded: from the checkpoint and the task's own fields. */
export interface KnownModel {
  readonly layout: ModelLayout;
  readonly evaluates: boolean;
  readonly classNames: readonly string[];
}

export interface DeferredEvaluatorOptions {
  /** Loads TensorFlow and the task's model (once). */
  readonly load: () => Promise<Evaluator>;
  /** How long after construction the model is loaded if nothing wanted it before. */
  readonly loadAfterMs: number;
  /** A load that failed, or a model whose layout is not the checkpoint's: the process cannot go on. */
  readonly onFatal: (error: unknown) => void;
}

export class DeferredEvaluator implements Evaluator {
  private loaded: Evaluator | null = null;
  private loading: Promise<Evaluator> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly known: KnownModel,
    private readonly options: DeferredEvaluatorOptions,
  ) {
    this.timer = setTimeout(() => void this.model().catch(() => undefined), options.loadAfterMs);
    this.timer.unref();
  }

  get layout(): ModelLayout {
    return this.known.layout;
  }
  get evaluates(): boolean {
    return this.known.evaluates;
  }
  get classNames(): readonly string[] {
    return this.known.classNames;
  }
  get ready(): boolean {
    return this.loaded !== null;
  }
  get backend(): string {
    return this.loaded?.backend ?? 'not loaded';
  }
  get classes(): number | null {
    return this.loaded?.classes ?? null;
  }

  async initialWeights(): Promise<Float32Array> {
    return (await this.model()).initialWeights();
  }

  async evaluate(weights: Float32Array): Promise<Evaluation | null> {
    if (!this.known.evaluates) return null;
    return (await this.model()).evaluate(weights);
  }

  /** The loaded model, loading it on first call; a failure is fatal (onFatal) and rethrown. */
  model(): Promise<Evaluator> {
    clearTimeout(this.timer);
    this.loading ??= this.options.load().then((evaluator) => {
      const { architectureId, tensors } = this.known.layout;
      assertSameLayout(evaluator.layout, {
        architectureId,
        tensorNames: tensors.map((t) => t.name),
        shapes: tensors.map((t) => t.shape),
      });
      this.loaded = evaluator;
      return evaluator;
    });
    return this.loading.catch((error: unknown) => {
      this.options.onFatal(error);
      throw error;
    });
  }
}
