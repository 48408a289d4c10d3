/**
 * The tensor encodings' WebAssembly SIMD kernels (codec-kernels.wat) behind plain typed-array
 * functions. Values are copied through a scratch region of the kernels' own memory in slices of at
 * most 256 Ki values, so it stays 2 MiB whatever the model's size; the copies are memcpy-fast, and
 * the per-element work runs 4–16 values per instruction instead of one per scalar JS step.
 * Each function returns false, doing nothing, where WebAssembly SIMD is missing: the caller then
 * runs its scalar reference (float16.ts, quantization.ts), which the kernels match bit for bit.
 */
import { CODEC_KERNELS_WASM_BASE64 } from './codec-kernels.wasm.js';

interface CodecExports {
  toFloat16(src: number, dst: number, n: number): void;
  fromFloat16(src: number, dst: number, n: number): void;
  quantize(src: number, dst: number, n: number, inverse: number, zeroPoint: number): void;
  dequantize(src: number, dst: number, n: number, scale: number, zeroPoint: number): void;
  range(src: number, n: number, out: number): void;
}

/** Values per slice: the scratch holds a slice's input (≤ 4 bytes each) then its output (≤ 4). */
const SLICE = 1 << 18;
const INPUT = 16;
const OUTPUT = INPUT + SLICE * 4;
const PAGE = 65536;

let kernels: { exports: CodecExports; heap: ArrayBuffer } | null | undefined;

function instance(): { exports: CodecExports; heap: ArrayBuffer } | null {
  if (kernels !== undefined) return kernels;
  const bytes = Buffer.from(CODEC_KERNELS_WASM_BASE64, 'base64');
  if (!WebAssembly.validate(bytes)) return (kernels = null);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((OUTPUT + SLICE * 4) / PAGE) });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as CodecExports;
  // The memory never grows, so views of it stay valid.
  return (kernels = { exports, heap: memory.buffer });
}

export function codecKernelsAvailable(): boolean {
  return instance() !== null;
}

/**
 * Runs `kernel` over `length` values slice by slice: `load` copies a slice's input into the
 * scratch, the kernel converts the whole groups, `store` copies the output back out. Returns how
 * many values the kernels converted at the end of each slice's whole groups (the caller converts
 * the rest, fewer than `group`).
 */
function sliced(
  length: number,
  group: number,
  run: (k: CodecExports, heap: ArrayBuffer, start: number, count: number) => void,
): number | false {
  const k = instance();
  if (!k) return false;
  const whole = length - (length % group);
  for (let start = 0; start < whole; start += SLICE)
    run(k.exports, k.heap, start, Math.min(SLICE, whole - start));
  return whole;
}

/** float32 → binary16 bits, the first n − n mod 8 values; the count done, or false. */
export function toFloat16Kernel(values: Float32Array, out: Uint16Array): number | false {
  return sliced(values.length, 8, (k, heap, start, count) => {
    new Float32Array(heap, INPUT, count).set(values.subarray(start, start + count));
    k.toFloat16(INPUT, OUTPUT, count);
    out.set(new Uint16Array(heap, OUTPUT, count), start);
  });
}

/** binary16 as little-endian bytes (at any offset: no aligned copy needed) → float32. */
export function fromFloat16Kernel(bytes: Uint8Array, out: Float32Array): number | false {
  return sliced(bytes.length >> 1, 8, (k, heap, start, count) => {
    new Uint8Array(heap, INPUT, count * 2).set(bytes.subarray(start * 2, (start + count) * 2));
    k.fromFloat16(INPUT, OUTPUT, count);
    out.set(new Float32Array(heap, OUTPUT, count), start);
  });
}

export function quantizeKernel(
  values: Float32Array,
  inverse: number,
  zeroPoint: number,
  out: Int8Array,
): number | false {
  return sliced(values.length, 16, (k, heap, start, count) => {
    new Float32Array(heap, INPUT, count).set(values.subarray(start, start + count));
    k.quantize(INPUT, OUTPUT, count, inverse, zeroPoint);
    out.set(new Int8Array(heap, OUTPUT, count), start);
  });
}

export function dequantizeKernel(
  levels: Int8Array,
  scale: number,
  zeroPoint: number,
  out: Float32Array,
): number | false {
  return sliced(levels.length, 16, (k, heap, start, count) => {
    new Int8Array(heap, INPUT, count).set(levels.subarray(start, start + count));
    k.dequantize(INPUT, OUTPUT, count, scale, zeroPoint);
    out.set(new Float32Array(heap, OUTPUT, count), start);
  });
}

/** [min(0, …values), max(0, …values)] over the first n − n mod 8 values, or false. */
export function rangeKernel(values: Float32Array): { min: number; max: number; done: number } | false {
  let min = 0;
  let max = 0;
  const done = sliced(values.length, 8, (k, heap, start, count) => {
    new Float32Array(heap, INPUT, count).set(values.subarray(start, start + count));
    k.range(INPUT, count, 0);
    const [lo, hi] = new Float32Array(heap, 0, 2);
    if ((lo as number) < min) min = lo as number;
    if ((hi as number) > max) max = hi as number;
  });
  return done === false ? false : { min, max, done };
}
