import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileKernel, FOLD_KERNELS, moduleSource } from '../../../scripts/build-fold-kernels.js';
import { FedBuffAggregator, type UpdateForFold } from './aggregator.js';
import { DEFAULT_FEDBUFF, type FedBuffConfig } from './config.js';
import { createFoldArena, wasmSimdAvailable } from './fold-arena.js';
import { modelLayout } from './layout.js';
import { addScaled, blockedSquaredNorm, exactSquaredNorm, squaredNormIfFinite } from './robust.js';
import { restoreAggregator, serializeAggregator } from './state.js';

/** Any float32, NaN, ±∞, −0 and subnormals included. */
const float32 = fc.float({ noDefaultInfinity: false, noNaN: false });
const finiteFloat32 = fc.float({ noDefaultInfinity: true, noNaN: true });
const bits = (values: Float32Array) =>
  Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

describe('fold kernels: the WebAssembly module', () => {
  it('runs here (Node has WebAssembly SIMD), so the default arena is the SIMD one', () => {
    expect(wasmSimdAvailable()).toBe(true);
    expect(createFoldArena(4, 4).kind).toBe('wasm-simd');
  });

  it('is the committed build of fold-kernels.wat (edit the .wat, then npm run build:kernels)', async () => {
    expect(readFileSync(FOLD_KERNELS.modulePath, 'utf8')).toBe(
      moduleSource(FOLD_KERNELS, await compileKernel(FOLD_KERNELS)),
    );
  });
});

describe('fold kernels: WebAssembly SIMD is bit-identical to the scalar reference', () => {
  it('squared norm, for every length (whole blocks of 64 and tails) and any float32', () => {
    fc.assert(
      fc.property(fc.array(float32, { maxLength: 300 }), fc.nat(8), (values, offset) => {
        const arena = createFoldArena(values.length + offset, 0, 'wasm-simd');
        const staged = arena.stage(Float32Array.from(values), offset);
        expect(
          Object.is(arena.squaredNormIfFinite(staged), squaredNormIfFinite(Float32Array.from(values))),
        ).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('y += f32(a)·x in float32 arithmetic, at any offset and any factor', () => {
    fc.assert(
      fc.property(
        fc.array(finiteFloat32, { minLength: 1, maxLength: 70 }),
        fc.array(finiteFloat32, { maxLength: 70 }),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
        fc.nat(8),
        (initial, values, factor, gap) => {
          const size = values.length + gap;
          const offset = Math.min(gap, size - values.length);
          const sum = Float32Array.from({ length: size }, (_, i) => initial[i % initial.length] as number);
          const arena = createFoldArena(size, size, 'wasm-simd');
          arena.bufferSum.set(sum);
          arena.addScaled(offset, arena.stage(Float32Array.from(values), offset), factor);
          addScaled(sum, offset, Float32Array.from(values), factor);
          expect(bits(arena.bufferSum)).toEqual(bits(sum));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on a model-sized array with a tail, too', () => {
    const n = 100_003;
    const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3);
    const arena = createFoldArena(n, n, 'wasm-simd');
    const reference = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
    arena.bufferSum.set(reference);
    arena.addScaled(0, arena.stage(values, 0), 0.37);
    addScaled(reference, 0, values, 0.37);
    expect(bits(arena.bufferSum)).toEqual(bits(reference));
    expect(arena.squaredNormIfFinite(arena.stage(values, 0))).toBe(squaredNormIfFinite(values));
  });

  it('tells a huge but finite delta (its squares overflow float32) from a non-finite one', () => {
    const values = new Float32Array(130).fill(1e20);
    const arena = createFoldArena(130, 0, 'wasm-simd');
    const expected = 130 * Math.fround(1e20) ** 2;
    expect(arena.squaredNormIfFinite(arena.stage(values, 0))).toBeCloseTo(expected, -30);
    expect(squaredNormIfFinite(values)).toBe(arena.squaredNormIfFinite(arena.stage(values, 0)));
    values[77] = NaN;
    expect(arena.squaredNormIfFinite(arena.stage(values, 0))).toBeNaN();
  });

  it('reports NaN for a NaN or infinite value wherever it sits', () => {
    const arena = createFoldArena(141, 0, 'wasm-simd');
    for (const bad of [NaN, Infinity, -Infinity])
      for (let at = 0; at < 141; at++) {
        const values = new Float32Array(141).fill(0.5);
        values[at] = bad;
        expect(arena.squaredNormIfFinite(arena.stage(values, 0))).toBeNaN();
      }
  });
});

describe('the blocked squared norm', () => {
  it('is within 1e-6 (relative) of the sum in f64', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
          maxLength: 2000,
        }),
        (list) => {
          const values = Float32Array.from(list);
          const exact = exactSquaredNorm(values);
          expect(Math.abs(blockedSquaredNorm(values) - exact)).toBeLessThanOrEqual(1e-6 * exact);
        },
      ),
    );
  });
});

describe('fold arena: staging', () => {
  it('reads values already in its memory in place and copies others to their offset', () => {
    const arena = createFoldArena(10, 10, 'wasm-simd');
    const inside = arena.staging.subarray(2, 5);
    expect(arena.stage(inside, 7)).toBe(inside);
    const copied = arena.stage(Float32Array.from([1, 2, 3]), 4);
    expect(copied.buffer).toBe(arena.staging.buffer);
    expect(Array.from(arena.staging.subarray(4, 7))).toEqual([1, 2, 3]);
    expect(Array.from(copied)).toEqual([1, 2, 3]);
  });

  it('refuses to stage or fold out of range, and to read values it has not staged', () => {
    const arena = createFoldArena(4, 4, 'wasm-simd');
    expect(() => arena.stage(new Float32Array(3), 2)).toThrow(RangeError);
    expect(() => arena.squaredNormIfFinite(new Float32Array(4))).toThrow(/staged/);
    expect(() => arena.addScaled(2, arena.staging.subarray(0, 3), 1)).toThrow(RangeError);
  });

  it('keeps the buffer sum and the staging area apart', () => {
    const arena = createFoldArena(5, 5, 'wasm-simd');
    arena.staging.fill(7);
    expect(Array.from(arena.bufferSum)).toEqual([0, 0, 0, 0, 0]);
    arena.bufferSum.fill(1);
    expect(Array.from(arena.staging)).toEqual([7, 7, 7, 7, 7]);
  });

  it('the JavaScript arena reads any array and folds into its own buffer sum', () => {
    const arena = createFoldArena(3, 3, 'js');
    const values = Float32Array.from([1, 2, 3]);
    expect(arena.stage(values, 0)).toBe(values);
    arena.addScaled(0, values, 2);
    expect(Array.from(arena.bufferSum)).toEqual([2, 4, 6]);
    expect(arena.staging).toHaveLength(3);
  });
});

describe('fold kernels inside the aggregator', () => {
  const layout = modelLayout('toy', [
    { name: 'w', shape: [3, 7] },
    { name: 'b', shape: [5] },
  ]);
  const config: FedBuffConfig = {
    ...DEFAULT_FEDBUFF,
    jobId: 'job',
    bufferSize: 3,
    maxDeltaNorm: null,
    clipNorm: 2,
    averaging: 'examples',
    guard: null,
  };
  const updates = (seed: number): UpdateForFold[] =>
    Array.from({ length: 10 }, (_, k) => ({
      updateId: `u${k}`,
      jobId: 'job',
      workerId: `w${k % 3}`,
      baseVersion: Math.floor(k / 4),
      numExamples: 1 + ((k * 7 + seed) % 13),
      tensors: [
        { name: 'b', shape: [5], values: Float32Array.from({ length: 5 }, (_, i) => Math.sin(seed + k + i)) },
        {
          name: 'w',
          shape: [3, 7],
          values: Float32Array.from({ length: 21 }, (_, i) => Math.cos(seed * 3 + k * i) * 0.4),
        },
      ],
    }));

  it('gives the same model, norms and checkpoint bytes with either kernel', () => {
    for (const seed of [1, 2, 3]) {
      const initial = Float32Array.from({ length: layout.size }, (_, i) => Math.tan(i + seed) * 0.01);
      const wasm = FedBuffAggregator.create(config, layout, initial, 0, { foldKernel: 'wasm-simd' });
      const js = FedBuffAggregator.create(config, layout, initial, 0, { foldKernel: 'js' });
      expect([wasm.foldKernel, js.foldKernel]).toEqual(['wasm-simd', 'js']);
      for (const u of updates(seed)) expect(wasm.fold(u).update).toEqual(js.fold(u).update);
      expect(bits(wasm.model)).toEqual(bits(js.model));
      expect(serializeAggregator(wasm)).toEqual(serializeAggregator(js));
    }
  });

  it('folds deltas decoded into its staging area without copying them', () => {
    const agg = FedBuffAggregator.create(config, layout, new Float32Array(layout.size));
    const reference = FedBuffAggregator.create(config, layout, new Float32Array(layout.size), 0, {
      foldKernel: 'js',
    });
    const [first] = updates(9);
    if (!first) throw new Error('no update');
    const staged = first.tensors.map((t) => {
      const slot = layout.tensors.find((s) => s.name === t.name);
      const view = agg.stagingArea.subarray(slot?.offset ?? 0, (slot?.offset ?? 0) + t.values.length);
      view.set(t.values);
      return { ...t, values: view };
    });
    agg.fold({ ...first, tensors: staged });
    reference.fold(first);
    expect(bits(agg.snapshot().bufferSum)).toEqual(bits(reference.snapshot().bufferSum));
  });

  it('restores a buffered checkpoint into its own memory and carries on identically', () => {
    const wasm = FedBuffAggregator.create(config, layout, new Float32Array(layout.size));
    const all = updates(5);
    for (const u of all.slice(0, 4)) wasm.fold(u); // one step and one update buffered
    const restored = restoreAggregator(serializeAggregator(wasm));
    expect(restored.foldKernel).toBe('wasm-simd');
    expect(restored.bufferCount).toBe(1);
    for (const u of all.slice(4)) {
      wasm.fold(u);
      restored.fold(u);
    }
    expect(bits(restored.model)).toEqual(bits(wasm.model));
  });
});
