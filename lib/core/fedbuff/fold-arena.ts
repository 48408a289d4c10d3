/**
 * Where the mean reduction folds: the buffer sum, a staging area laid out like the model, and the
 * fold's two streaming passes over them (the validation norm, then y += a·x).
 *
 * Two implementations with bit-identical results: WebAssembly SIMD over one linear memory (the
 * default, fold-kernels.wat), and the scalar JavaScript of robust.ts (the reference, and the
 * fallback where WebAssembly SIMD is missing). A delta must sit in the WebAssembly memory for the
 * kernel to read it: `stage` returns it as it is when it already does (decoded into `staging`, as
 * the coordinator does) and copies it into `staging` otherwise.
 */
import { FOLD_KERNELS_WASM_BASE64 } from './fold-kernels.wasm.js';
import { addScaled, recheckIfNotFinite, squaredNormIfFinite } from './robust.js';

export type FoldKernelKind = 'wasm-simd' | 'js';

export interface FoldArena {
  readonly kind: FoldKernelKind;
  /** Σ wᵢ·sᵢ·cᵢ·Δᵢ for the mean reduction (length 0 when the arena is only for staging). */
  readonly bufferSum: Float32Array;
  /** Room for one update laid out like the model; decode a delta here to fold it without a copy. */
  readonly staging: Float32Array;
  /** `values` as the kernels can read it: itself, or its copy at `offset` in `staging`. */
  stage(values: Float32Array, offset: number): Float32Array;
  /** Σ values², or NaN when any value is NaN or ±∞. `values` must come from `stage`. */
  squaredNormIfFinite(values: Float32Array): number;
  /** bufferSum[offset + i] += factor · values[i]. `values` must come from `stage`. */
  addScaled(offset: number, values: Float32Array, factor: number): void;
}

interface FoldKernelExports {
  squaredNorm(pointer: number, length: number): number;
  addScaled(target: number, source: number, length: number, factor: number): void;
}

const WASM_PAGE_BYTES = 65_536;
/** A 32-bit WebAssembly memory ends at 4 GiB; past half of it, models fold in JS instead. */
const MAX_WASM_ARENA_BYTES = 2 * 2 ** 30;
const FOLD_KERNELS_BYTES = Buffer.from(FOLD_KERNELS_WASM_BASE64, 'base64');
let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernels, or null where this runtime lacks WebAssembly SIMD. */
function foldKernelsModule(): WebAssembly.Module | null {
  if (compiled === undefined)
    compiled = WebAssembly.validate(FOLD_KERNELS_BYTES) ? new WebAssembly.Module(FOLD_KERNELS_BYTES) : null;
  return compiled ?? null;
}

export function wasmSimdAvailable(): boolean {
  return foldKernelsModule() !== null;
}

/**
 * An arena for a model of `size` parameters. `bufferSize` is the buffer sum's length: `size` for
 * the mean reduction, 0 for the robust ones (they keep each delta apart). WebAssembly SIMD unless
 * asked for JS, missing, or the model is too large for a 32-bit memory (over 256 M parameters).
 */
export function createFoldArena(
  size: number,
  bufferSize: number,
  kind: FoldKernelKind = wasmSimdAvailable() ? 'wasm-simd' : 'js',
): FoldArena {
  const tooLarge = (size + bufferSize) * 4 > MAX_WASM_ARENA_BYTES;
  if (kind === 'js' || tooLarge || !wasmSimdAvailable()) return jsFoldArena(size, bufferSize);
  return wasmFoldArena(size, bufferSize, foldKernelsModule() as WebAssembly.Module);
}

function jsFoldArena(size: number, bufferSize: number): FoldArena {
  const bufferSum = new Float32Array(bufferSize);
  let staging: Float32Array | null = null;
  return {
    kind: 'js',
    bufferSum,
    // Allocated on first use: the JS kernels read any Float32Array, so only callers that decode
    // into the staging area pay for it.
    get staging() {
      staging ??= new Float32Array(size);
      return staging;
    },
    stage: (values) => values,
    squaredNormIfFinite,
    addScaled: (offset, values, factor) => addScaled(bufferSum, offset, values, factor),
  };
}

function wasmFoldArena(size: number, bufferSize: number, module: WebAssembly.Module): FoldArena {
  // [bufferSum | staging], each starting on a 16-byte boundary for whole SIMD lanes. The memory never
  // grows: growing would detach both views.
  const stagingByteOffset = Math.ceil((bufferSize * 4) / 16) * 16;
  const bytes = stagingByteOffset + size * 4;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES)) });
  const kernels = new WebAssembly.Instance(module, { env: { memory } })
    .exports as unknown as FoldKernelExports;
  const bufferSum = new Float32Array(memory.buffer, 0, bufferSize);
  const staging = new Float32Array(memory.buffer, stagingByteOffset, size);
  const inMemory = (values: Float32Array) => values.buffer === memory.buffer;
  const requireStaged = (values: Float32Array) => {
    if (!inMemory(values)) throw new RangeError('values must be staged into the fold arena first');
  };
  return {
    kind: 'wasm-simd',
    bufferSum,
    staging,
    stage(values, offset) {
      if (inMemory(values)) return values;
      if (offset < 0 || offset + values.length > size)
        throw new RangeError(`cannot stage ${values.length} values at ${offset} of ${size}`);
      const copy = staging.subarray(offset, offset + values.length);
      copy.set(values);
      return copy;
    },
    squaredNormIfFinite(values) {
      requireStaged(values);
      return recheckIfNotFinite(kernels.squaredNorm(values.byteOffset, values.length), values);
    },
    addScaled(offset, values, factor) {
      requireStaged(values);
      if (offset < 0 || offset + values.length > bufferSize)
        throw new RangeError(`cannot add ${values.length} values at ${offset} of ${bufferSize}`);
      kernels.addScaled(offset * 4, values.byteOffset, values.length, factor);
    },
  };
}
