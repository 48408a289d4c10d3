/**
 * The model as the aggregator sees it: one contiguous Float32Array (folding is a streaming pass over
 * memory) and a layout mapping each named tensor to its slice.
 */
import { elementCount } from '../tensors.js';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface TensorSlot extends TensorSpec {
  readonly offset: number;
  readonly length: number;
}

export interface ModelLayout {
  readonly architectureId: string;
  readonly tensors: readonly TensorSlot[];
  readonly size: number;
}

export function modelLayout(architectureId: string, specs: readonly TensorSpec[]): ModelLayout {
  let offset = 0;
  const tensors = specs.map((spec) => {
    const length = elementCount(spec.shape);
    const slot = { name: spec.name, shape: [...spec.shape], offset, length };
    offset += length;
    return slot;
  });
  if (new Set(tensors.map((t) => t.name)).size !== tensors.length)
    throw new Error('tensor names in a layout must be unique');
  return Object.freeze({ architectureId, tensors, size: offset });
}

/** Views of `flat` per tensor, in layout order (no copies). */
export function splitFlat(
  layout: ModelLayout,
  flat: Float32Array,
): { name: string; shape: readonly number[]; values: Float32Array }[] {
  return layout.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    values: flat.subarray(t.offset, t.offset + t.length),
  }));
}

export function joinFlat(
  layout: ModelLayout,
  tensors: readonly { name: string; values: Float32Array }[],
): Float32Array {
  const flat = new Float32Array(layout.size);
  const byName = new Map(tensors.map((t) => [t.name, t.values]));
  for (const slot of layout.tensors) {
    const values = byName.get(slot.name);
    if (!values || values.length !== slot.length)
      throw new Error(`tensor ${slot.name} missing or of the wrong length`);
    flat.set(values, slot.offset);
  }
  return flat;
}
