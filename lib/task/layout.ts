/**
 * The wire layout of a task's model, derived from the model itself: every weight in `model.weights`
 * order (trainable and non-trainable alike; see docs/write-a-task.md), named by layer and weight.
 *
 * TF.js gives auto-named layers a process-wide counter (`dense_Dense3`) and suffixes repeated weight
 * names, so its own names differ between two builds of one model. The wire name replaces an
 * automatic layer name by its class and its ordinal among auto-named layers of that class
 * (`dense_1/kernel`), and keeps names a user gave.
 */
import type * as TF from '@tensorflow/tfjs';
import { TributaryError } from '../core/errors.js';
import { modelLayout, type ModelLayout, type TensorSpec } from '../core/fedbuff/layout.js';

const snake = (name: string) =>
  name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toLowerCase();

function wireLayerNames(model: TF.LayersModel): Map<TF.layers.Layer, string> {
  const ordinals = new Map<string, number>();
  const names = new Map<TF.layers.Layer, string>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const automatic = new RegExp(`^${snake(cls)}_${cls}\\d+$`).test(layer.name);
    if (!automatic) {
      names.set(layer, layer.name);
      continue;
    }
    const n = (ordinals.get(cls) ?? 0) + 1;
    ordinals.set(cls, n);
    names.set(layer, `${snake(cls)}_${n}`);
  }
  return names;
}

/** The tensor specs of a model's weights, in the order getWeights/setWeights use. */
export function modelTensorSpecs(model: TF.LayersModel): TensorSpec[] {
  const layerNames = wireLayerNames(model);
  const byVariable = new Map<string, string>();
  for (const [layer, wireName] of layerNames)
    for (const weight of layer.weights) {
      // originalName is "<layer name>/<weight>" (possibly nested); keep what follows the layer.
      const original = weight.originalName;
      const suffix = original.startsWith(`${layer.name}/`) ? original.slice(layer.name.length + 1) : original;
      byVariable.set(weight.name, `${wireName}/${suffix}`);
    }
  return model.weights.map((weight) => {
    if (weight.dtype !== 'float32')
      throw new TributaryError(
        'TRIB_LAYOUT_MISMATCH',
        `weight ${weight.originalName} is ${weight.dtype}; only float32 weights can be federated`,
      );
    return { name: byVariable.get(weight.name) ?? weight.originalName, shape: [...weight.shape] as number[] };
  });
}

export function layoutOfModel(taskId: string, model: TF.LayersModel): ModelLayout {
  return modelLayout(taskId, modelTensorSpecs(model));
}

/** What a published model says about its tensors (GlobalModel.manifest). */
export interface ManifestView {
  readonly architectureId: string;
  readonly tensorNames: readonly string[];
  readonly shapes: readonly (readonly number[])[];
}

/** The first difference between this process's layout and a published manifest, or null. */
export function firstLayoutMismatch(layout: ModelLayout, manifest: ManifestView): string | null {
  if (manifest.architectureId !== layout.architectureId)
    return `task id: the job's model is "${manifest.architectureId}", this process built "${layout.architectureId}"`;
  const count = Math.max(layout.tensors.length, manifest.tensorNames.length);
  for (let i = 0; i < count; i++) {
    const mine = layout.tensors[i];
    const theirs = manifest.tensorNames[i];
    const theirShape = manifest.shapes[i] ?? [];
    if (!mine) return `tensor ${i}: the job's model has "${theirs}", this process's model has no tensor ${i}`;
    if (theirs === undefined)
      return `tensor ${i}: this process's model has "${mine.name}", the job's model has only ${manifest.tensorNames.length} tensors`;
    if (theirs !== mine.name)
      return `tensor ${i}: the job's model has "${theirs}", this process's "${mine.name}"`;
    if (theirShape.join('x') !== mine.shape.join('x'))
      return `tensor ${i} (${mine.name}): the job's shape is [${theirShape.join(', ')}], this process's [${mine.shape.join(', ')}]`;
  }
  return null;
}

export class LayoutMismatchError extends TributaryError {
  constructor(readonly mismatch: string) {
    super('TRIB_LAYOUT_MISMATCH', mismatch);
    this.name = 'LayoutMismatchError';
  }
}

export function assertSameLayout(layout: ModelLayout, manifest: ManifestView): void {
  const mismatch = firstLayoutMismatch(layout, manifest);
  if (mismatch) throw new LayoutMismatchError(mismatch);
}
