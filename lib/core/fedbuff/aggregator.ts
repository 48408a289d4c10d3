/**
 * The FedBuff aggregator (Nguyen et al., "Federated Learning with Buffered Asynchronous
 * Aggregation", AISTATS 2022, Algorithm 1), pure: no Kafka, no clock.
 *
 *   on update Δᵢ from base version vᵢ:   τᵢ = version − vᵢ
 *       validate (job, id, version, staleness, names/shapes, finiteness, norm) or reject untouched
 *       buffer ← buffer + wᵢ · s(τᵢ) · clip(Δᵢ)          (wᵢ = nᵢ or 1, see `averaging`)
 *   when K updates are buffered:
 *       Δ̄ = buffer / Σ wᵢ          (or the coordinate-wise median / trimmed mean of the s·clip(Δ))
 *       x ← serverOptimizer(x, Δ̄);  version ← version + 1;  buffer ← 0
 *
 * Synchronous FedAvg is K = cohort, maxStaleness = 0, constant s, example weighting and server SGD
 * with learning rate 1 (x − mean(x − xᵢ) = mean(xᵢ)); FedAsync is K = 1. Both are this code.
 * Where the paper is silent (example weighting, normalisation, the server optimizers) we follow
 * FLSim's FedBuff and Reddi et al. (ICLR 2021).
 */
import { UpdateRejectedError } from '../errors.js';
import type { NamedTensor } from '../tensors.js';
import { validateFedBuffConfig, type FedBuffConfig } from './config.js';
import { createFoldArena, type FoldArena, type FoldKernelKind } from './fold-arena.js';
import type { ModelLayout } from './layout.js';
import {
  addScaled,
  clipFactor,
  coordinateMedian,
  coordinateTrimmedMean,
  squaredNormIfFinite,
  trimCount,
} from './robust.js';
import { applyServerStep, initialMoments, type OptimizerMoments } from './server-optimizer.js';
import { averageInto } from './served.js';
import { stalenessWeight } from './staleness.js';
import { emptyGuardWindow, judge, remember, type GuardWindow } from './guard.js';

export type GlobalModelVersion = number;

export interface UpdateForFold {
  readonly updateId: string;
  readonly jobId: string;
  readonly workerId: string;
  readonly baseVersion: GlobalModelVersion;
  readonly numExamples: number;
  readonly tensors: readonly NamedTensor[];
}

/** What one buffered update contributed; reported in events and flush outcomes. */
export interface FoldedUpdate {
  readonly updateId: string;
  readonly workerId: string;
  readonly baseVersion: GlobalModelVersion;
  readonly staleness: number;
  readonly stalenessWeight: number;
  readonly numExamples: number;
  readonly norm: number;
  readonly clipFactor: number;
}

export interface FlushOutcome {
  /** The version the server step produced. */
  readonly version: GlobalModelVersion;
  readonly folded: readonly FoldedUpdate[];
  readonly averageDeltaNorm: number;
}

export interface FoldOutcome {
  readonly update: FoldedUpdate;
  readonly bufferCount: number;
  readonly flush: FlushOutcome | null;
}

/** Everything the aggregator is; serialised exactly by ./state.ts. */
export interface AggregatorState {
  readonly config: FedBuffConfig;
  readonly layout: ModelLayout;
  version: GlobalModelVersion;
  readonly model: Float32Array;
  /** Σ wᵢ·sᵢ·cᵢ·Δᵢ for the mean reduction; unused (length 0) for robust reductions. */
  readonly bufferSum: Float32Array;
  bufferWeight: number;
  /** sᵢ·cᵢ·Δᵢ per buffered update, for the median and trimmed-mean reductions only. */
  readonly bufferDeltas: Float32Array[];
  readonly buffered: FoldedUpdate[];
  /**
   * Ids of accepted updates (buffered or flushed) with their base versions, kept while a replay of
   * them could still be fresh enough to fold: an id whose base version is older than
   * version − maxStaleness is dropped, because its replay is rejected as stale anyway. So an update
   * is folded at most once, and the set holds at most about K × (maxStaleness + 2) ids however long
   * the job runs.
   */
  readonly foldedIds: Map<string, GlobalModelVersion>;
  /** Recent accepted norms and example counts, the influence guard's reference (./guard.ts). */
  readonly guardWindow: GuardWindow;
  readonly moments: OptimizerMoments;
  /** The served model (./served.ts) when config.servedAverage > 0; null serves `model` itself. */
  readonly served: Float32Array | null;
}

interface CheckedUpdate {
  readonly folded: FoldedUpdate;
  readonly weight: number;
  /** The example count the guard let stand (the claim, or its cap). */
  readonly examples: number;
  readonly scale: number;
  readonly update: UpdateForFold;
  /** The update's tensors in layout order, staged where the fold kernels read them. */
  readonly staged: readonly Float32Array[];
}

export interface AggregatorOptions {
  /** Which fold kernels to run; WebAssembly SIMD where available. Results are bit-identical. */
  readonly foldKernel?: FoldKernelKind;
}

function reject(
  code: ConstructorParameters<typeof UpdateRejectedError>[0],
  message: string,
  update: UpdateForFold,
): never {
  throw new UpdateRejectedError(code, message, {
    details: { updateId: update.updateId, workerId: update.workerId, baseVersion: update.baseVersion },
  });
}

export class FedBuffAggregator {
  /** ‖model‖ for the version it was computed at (the guard's reference before it has a median). */
  private modelNormCache = { version: -1, norm: 0 };

  private constructor(
    private readonly state: AggregatorState,
    private readonly arena: FoldArena,
  ) {}

  static create(
    config: FedBuffConfig,
    layout: ModelLayout,
    initialModel: Float32Array,
    version: GlobalModelVersion = 0,
    options: AggregatorOptions = {},
  ): FedBuffAggregator {
    const valid = validateFedBuffConfig(config);
    if (initialModel.length !== layout.size)
      throw new RangeError(`initial model has ${initialModel.length} values, layout ${layout.size}`);
    const robust = valid.reduction.kind !== 'mean';
    const arena = createFoldArena(layout.size, robust ? 0 : layout.size, options.foldKernel);
    return new FedBuffAggregator(
      {
        config: valid,
        layout,
        version,
        model: Float32Array.from(initialModel),
        bufferSum: arena.bufferSum,
        bufferWeight: 0,
        bufferDeltas: [],
        buffered: [],
        foldedIds: new Map(),
        guardWindow: emptyGuardWindow(),
        moments: initialMoments(valid.serverOptimizer, layout.size),
        served: valid.servedAverage > 0 ? Float32Array.from(initialModel) : null,
      },
      arena,
    );
  }

  /** Wraps a restored state (see ./state.ts); the state is owned by the aggregator from then on. */
  static fromState(state: AggregatorState, options: AggregatorOptions = {}): FedBuffAggregator {
    const arena = createFoldArena(state.layout.size, state.bufferSum.length, options.foldKernel);
    arena.bufferSum.set(state.bufferSum);
    return new FedBuffAggregator({ ...state, bufferSum: arena.bufferSum }, arena);
  }

  get config(): FedBuffConfig {
    return this.state.config;
  }
  get layout(): ModelLayout {
    return this.state.layout;
  }
  get version(): GlobalModelVersion {
    return this.state.version;
  }
  /** The current global model. Read-only by contract: copy before handing it to anything that writes. */
  get model(): Float32Array {
    return this.state.model;
  }
  /**
   * The model to evaluate and serve: the moving average of the versions (./served.ts), or the
   * current model when there is none. Read-only by contract, as `model`.
   */
  get served(): Float32Array {
    return this.state.served ?? this.state.model;
  }
  get bufferCount(): number {
    return this.state.buffered.length;
  }
  get buffered(): readonly FoldedUpdate[] {
    return this.state.buffered;
  }
  /** Which fold kernels run: 'wasm-simd' or 'js'. */
  get foldKernel(): FoldKernelKind {
    return this.arena.kind;
  }
  /**
   * Scratch laid out like the model, where the kernels read without a copy: decode an update's
   * tensors here (valid until the next check or fold).
   */
  get stagingArea(): Float32Array {
    return this.arena.staging;
  }
  hasFolded(updateId: string): boolean {
    return this.state.foldedIds.has(updateId);
  }
  /** The live state, for serialisation; do not mutate. */
  snapshot(): Readonly<AggregatorState> {
    return this.state;
  }

  private modelNorm(): number {
    if (this.modelNormCache.version !== this.state.version)
      this.modelNormCache = {
        version: this.state.version,
        norm: Math.sqrt(squaredNormIfFinite(this.state.model)),
      };
    return this.modelNormCache.norm;
  }

  /** Validates without changing anything; throws UpdateRejectedError with a stable code. */
  check(update: UpdateForFold): CheckedUpdate {
    const { config, layout, version } = this.state;
    if (typeof update.updateId !== 'string' || update.updateId === '')
      reject('TRIB_INVALID_UPDATE', 'updateId is empty', update);
    if (update.jobId !== config.jobId)
      reject('TRIB_WRONG_JOB', `update is for job "${update.jobId}", not "${config.jobId}"`, update);
    if (this.state.foldedIds.has(update.updateId))
      reject('TRIB_DUPLICATE_UPDATE', `update ${update.updateId} was already folded`, update);
    if (!Number.isSafeInteger(update.baseVersion) || update.baseVersion < 0)
      reject('TRIB_INVALID_UPDATE', `baseVersion ${update.baseVersion} is not a version`, update);
    if (update.baseVersion > version)
      reject(
        'TRIB_FUTURE_VERSION',
        `base version ${update.baseVersion} is newer than the current ${version}`,
        update,
      );
    const staleness = version - update.baseVersion;
    if (staleness > config.maxStaleness)
      reject(
        'TRIB_STALE_UPDATE',
        `staleness ${staleness} exceeds the maximum ${config.maxStaleness}`,
        update,
      );
    if (!Number.isSafeInteger(update.numExamples) || update.numExamples < 1)
      reject(
        'TRIB_INVALID_UPDATE',
        `numExamples must be a whole number >= 1, got ${update.numExamples}`,
        update,
      );
    if (config.maxExamples !== null && update.numExamples > config.maxExamples)
      reject(
        'TRIB_EXAMPLES_EXCEEDED',
        `numExamples ${update.numExamples} exceeds the hard limit ${config.maxExamples}`,
        update,
      );

    if (update.tensors.length !== layout.tensors.length) {
      reject(
        'TRIB_SHAPE_MISMATCH',
        `update has ${update.tensors.length} tensors, the model ${layout.tensors.length}`,
        update,
      );
    }
    const byName = new Map<string, NamedTensor>();
    for (const t of update.tensors) {
      if (byName.has(t.name)) reject('TRIB_SHAPE_MISMATCH', `tensor ${t.name} appears twice`, update);
      byName.set(t.name, t);
    }
    let squared = 0;
    const staged: Float32Array[] = [];
    for (const slot of layout.tensors) {
      const t = byName.get(slot.name);
      if (!t) reject('TRIB_SHAPE_MISMATCH', `tensor ${slot.name} is missing`, update);
      if (
        t.shape.length !== slot.shape.length ||
        t.shape.some((d, i) => d !== slot.shape[i]) ||
        t.values.length !== slot.length
      ) {
        reject(
          'TRIB_SHAPE_MISMATCH',
          `tensor ${slot.name} has shape [${t.shape}], the model [${slot.shape}]`,
          update,
        );
      }
      const values = this.arena.stage(t.values, slot.offset);
      staged.push(values);
      const s = this.arena.squaredNormIfFinite(values);
      if (Number.isNaN(s))
        reject('TRIB_NON_FINITE', `tensor ${slot.name} holds NaN or infinite values`, update);
      squared += s;
    }
    const norm = Math.sqrt(squared);
    if (!Number.isFinite(norm)) reject('TRIB_NON_FINITE', 'the delta norm overflows', update);
    if (config.maxDeltaNorm !== null && norm > config.maxDeltaNorm) {
      reject(
        'TRIB_NORM_EXCEEDED',
        `delta norm ${norm.toPrecision(6)} exceeds the hard limit ${config.maxDeltaNorm}`,
        update,
      );
    }
    let examples = update.numExamples;
    let clip = clipFactor(norm, config.clipNorm);
    if (config.guard) {
      const verdict = judge(config.guard, this.state.guardWindow, norm, examples, this.modelNorm());
      if (!verdict.accept) reject('TRIB_NORM_EXCEEDED', verdict.reason, update);
      clip = Math.min(clip, clipFactor(norm, verdict.clipNorm));
      examples = verdict.examples;
    }
    const sWeight = stalenessWeight(staleness, config.staleness);
    const weight = config.averaging === 'examples' ? examples : 1;
    return {
      update,
      staged,
      weight,
      examples,
      scale: sWeight * clip,
      folded: {
        updateId: update.updateId,
        workerId: update.workerId,
        baseVersion: update.baseVersion,
        staleness,
        stalenessWeight: sWeight,
        numExamples: update.numExamples,
        norm,
        clipFactor: clip,
      },
    };
  }

  /** Validates and folds one update; applies a server step when the buffer reaches K. */
  fold(update: UpdateForFold): FoldOutcome {
    const checked = this.check(update); // throws before any mutation
    const { state } = this;
    const slots = state.layout.tensors;
    if (state.config.reduction.kind === 'mean') {
      const factor = checked.scale * checked.weight;
      slots.forEach((slot, i) =>
        this.arena.addScaled(slot.offset, checked.staged[i] as Float32Array, factor),
      );
    } else {
      const delta = new Float32Array(state.layout.size);
      slots.forEach((slot, i) =>
        addScaled(delta, slot.offset, checked.staged[i] as Float32Array, checked.scale),
      );
      state.bufferDeltas.push(delta);
    }
    state.bufferWeight += checked.weight;
    state.buffered.push(checked.folded);
    state.foldedIds.set(update.updateId, update.baseVersion);
    if (state.config.guard)
      remember(state.config.guard, state.guardWindow, checked.folded.norm, checked.examples);
    const flush = state.buffered.length >= state.config.bufferSize ? this.flush() : null;
    return { update: checked.folded, bufferCount: state.buffered.length, flush };
  }

  /** Applies the server step to whatever is buffered (normally called by fold at K). */
  flush(): FlushOutcome | null {
    const { state } = this;
    if (state.buffered.length === 0) return null;
    const average = new Float32Array(state.layout.size);
    const reduction = state.config.reduction;
    if (reduction.kind === 'mean') {
      const inverse = 1 / state.bufferWeight;
      for (let i = 0; i < average.length; i++) average[i] = (state.bufferSum[i] as number) * inverse;
      state.bufferSum.fill(0);
    } else if (reduction.kind === 'median') {
      coordinateMedian(state.bufferDeltas, average);
    } else {
      coordinateTrimmedMean(
        state.bufferDeltas,
        trimCount(state.bufferDeltas.length, reduction.trimFraction),
        average,
      );
    }
    applyServerStep(state.config.serverOptimizer, state.model, average, state.moments);
    if (state.served) averageInto(state.served, state.model, state.config.servedAverage);
    state.version += 1;
    const oldestFresh = state.version - state.config.maxStaleness;
    for (const [id, base] of state.foldedIds) if (base < oldestFresh) state.foldedIds.delete(id);
    const folded = state.buffered.splice(0, state.buffered.length);
    state.bufferDeltas.length = 0;
    state.bufferWeight = 0;
    return { version: state.version, folded, averageDeltaNorm: Math.sqrt(squaredNormIfFinite(average)) };
  }
}
