/**
 * Tensor encoding for the wire (schemas/*.avsc `TensorDescriptor` + `data`): a list of named
 * float32 tensors becomes descriptors plus one byte blob, in order, and back. Encodings:
 *   FLOAT32      little-endian IEEE 754 single, exact;
 *   FLOAT16      little-endian IEEE 754 half, round to nearest even (relative error <= 2^-11 in range);
 *   INT8_AFFINE  per-tensor affine int8 (absolute error <= scale / 2).
 * Decoding yields one Float32Array per tensor, without per-element objects.
 */
import { WireError } from './errors.js';
import { decodeFloat16Bytes, encodeFloat16 } from './float16.js';
import {
  chooseAffineQuantization,
  dequantizeInt8,
  quantizeInt8,
  type AffineQuantization,
} from './quantization.js';

export const TENSOR_ENCODINGS = ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const;
export type TensorEncoding = (typeof TENSOR_ENCODINGS)[number];
export type TensorDType = 'FLOAT32';

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface TensorDescriptor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TensorDType;
  readonly encoding: TensorEncoding;
  readonly byteLength: number;
  readonly quantization: AffineQuantization | null;
}

export interface EncodedTensors {
  readonly tensors: TensorDescriptor[];
  readonly data: Uint8Array;
}

const BYTES_PER_ELEMENT: Record<TensorEncoding, number> = { FLOAT32: 4, FLOAT16: 2, INT8_AFFINE: 1 };
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes `elements` values take encoded as `encoding` (an update's data, before chunking). */
export const encodedBytes = (elements: number, encoding: TensorEncoding): number =>
  elements * BYTES_PER_ELEMENT[encoding];

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function encodeTensors(
  tensors: readonly NamedTensor[],
  encoding: TensorEncoding = 'FLOAT32',
): EncodedTensors {
  if (!littleEndian) throw new WireError('TRIB_UNSUPPORTED_ENCODING', 'big-endian hosts are not supported');
  const width = BYTES_PER_ELEMENT[encoding];
  let elements = 0;
  for (const t of tensors) {
    if (elementCount(t.shape) !== t.values.length) {
      throw new WireError(
        'TRIB_PAYLOAD_CORRUPT',
        `tensor ${t.name}: shape [${t.shape}] does not hold ${t.values.length} values`,
      );
    }
    elements += t.values.length;
  }
  const total = encodedBytes(elements, encoding);
  const data = new Uint8Array(total);
  const descriptors: TensorDescriptor[] = [];
  let offset = 0;
  for (const t of tensors) {
    const byteLength = t.values.length * width;
    let quantization: AffineQuantization | null = null;
    if (encoding === 'FLOAT32') {
      data.set(new Uint8Array(t.values.buffer, t.values.byteOffset, byteLength), offset);
    } else if (encoding === 'FLOAT16') {
      const bits = encodeFloat16(t.values);
      data.set(new Uint8Array(bits.buffer, bits.byteOffset, byteLength), offset);
    } else {
      quantization = chooseAffineQuantization(t.values);
      quantizeInt8(
        t.values,
        quantization,
        new Int8Array(data.buffer, data.byteOffset + offset, t.values.length),
      );
    }
    descriptors.push({
      name: t.name,
      shape: [...t.shape],
      dtype: 'FLOAT32',
      encoding,
      byteLength,
      quantization,
    });
    offset += byteLength;
  }
  return { tensors: descriptors, data };
}

/** Copies `length` bytes into a fresh, aligned buffer (wire bytes may start at any offset). */
function alignedCopy(data: Uint8Array, offset: number, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(data.subarray(offset, offset + length));
  return copy.buffer;
}

/**
 * Decodes each tensor to float32. With `into`, tensors are laid out one after another in it while
 * they fit (the aggregator's staging area, where folding reads without another copy); the views stay
 * valid only as long as the caller leaves `into` alone.
 */
export function decodeTensors(
  tensors: readonly TensorDescriptor[],
  data: Uint8Array,
  into?: Float32Array,
): NamedTensor[] {
  const out: NamedTensor[] = [];
  let offset = 0;
  let intoPosition = 0;
  for (const d of tensors) {
    if (!TENSOR_ENCODINGS.includes(d.encoding)) {
      throw new WireError(
        'TRIB_UNSUPPORTED_ENCODING',
        `tensor ${d.name}: unknown encoding ${String(d.encoding)}`,
      );
    }
    if (d.dtype !== 'FLOAT32') {
      throw new WireError(
        'TRIB_UNSUPPORTED_ENCODING',
        `tensor ${d.name}: unsupported dtype ${String(d.dtype)}`,
      );
    }
    if (d.shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
      throw new WireError('TRIB_PAYLOAD_CORRUPT', `tensor ${d.name}: invalid shape [${d.shape}]`);
    }
    const n = elementCount(d.shape);
    const expected = n * BYTES_PER_ELEMENT[d.encoding];
    if (d.byteLength !== expected) {
      throw new WireError(
        'TRIB_PAYLOAD_CORRUPT',
        `tensor ${d.name}: ${d.byteLength} bytes for shape [${d.shape}] in ${d.encoding} (expected ${expected})`,
      );
    }
    if (offset + expected > data.length) {
      throw new WireError(
        'TRIB_PAYLOAD_CORRUPT',
        `tensor ${d.name}: data ends at ${data.length}, tensor needs up to ${offset + expected}`,
      );
    }
    let values: Float32Array;
    const target =
      into && intoPosition + n <= into.length ? into.subarray(intoPosition, (intoPosition += n)) : undefined;
    if (d.encoding === 'FLOAT32') {
      if (target) {
        new Uint8Array(target.buffer, target.byteOffset, expected).set(
          data.subarray(offset, offset + expected),
        );
        values = target;
      } else values = new Float32Array(alignedCopy(data, offset, expected));
    } else if (d.encoding === 'FLOAT16') {
      values = decodeFloat16Bytes(data.subarray(offset, offset + expected), target);
    } else {
      const q = d.quantization;
      if (
        !q ||
        !(q.scale > 0) ||
        !Number.isFinite(q.scale) ||
        !Number.isInteger(q.zeroPoint) ||
        q.zeroPoint < -128 ||
        q.zeroPoint > 127
      ) {
        throw new WireError(
          'TRIB_PAYLOAD_CORRUPT',
          `tensor ${d.name}: INT8_AFFINE needs a finite positive scale and a zero point in [-128, 127]`,
        );
      }
      values = dequantizeInt8(new Int8Array(data.buffer, data.byteOffset + offset, n), q, target);
    }
    out.push({ name: d.name, shape: [...d.shape], values });
    offset += expected;
  }
  if (offset !== data.length) {
    throw new WireError(
      'TRIB_PAYLOAD_CORRUPT',
      `data holds ${data.length} bytes but the tensors describe ${offset}`,
    );
  }
  return out;
}
