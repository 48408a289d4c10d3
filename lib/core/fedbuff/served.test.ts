import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/codes.js';
import { ConfigError } from '../errors.js';
import { FedBuffAggregator, type UpdateForFold } from './aggregator.js';
import { DEFAULT_FEDBUFF, validateFedBuffConfig, type FedBuffConfig } from './config.js';
import { modelLayout } from './layout.js';
import { averageInto } from './served.js';
import { restoreAggregator, serializeAggregator } from './state.js';

const layout = modelLayout('toy', [{ name: 'w', shape: [2] }]);
const config = (overrides: Partial<FedBuffConfig> = {}): FedBuffConfig => ({
  ...DEFAULT_FEDBUFF,
  jobId: 'job',
  bufferSize: 1,
  averaging: 'uniform',
  maxDeltaNorm: null,
  guard: null,
  ...overrides,
});

let counter = 0;
const update = (baseVersion: number, w: number[]): UpdateForFold => ({
  updateId: `u${++counter}`,
  jobId: 'job',
  workerId: 'worker',
  baseVersion,
  numExamples: 1,
  tensors: [{ name: 'w', shape: [2], values: Float32Array.from(w) }],
});

describe('averageInto', () => {
  it('moves the average towards the model by 1 − β', () => {
    const served = Float32Array.from([1, -2]);
    averageInto(served, Float32Array.from([3, 2]), 0.75);
    expect([...served]).toEqual([1.5, -1]); // 0.75·1 + 0.25·3, 0.75·(−2) + 0.25·2
  });

  it('with β = 0 copies the model, whatever the average held', () => {
    const served = Float32Array.from([9, 9]);
    averageInto(served, Float32Array.from([0.1, -0.2]), 0);
    expect(served).toEqual(Float32Array.from([0.1, -0.2]));
  });

  it('refuses a model of another length', () => {
    expect(() => averageInto(new Float32Array(2), new Float32Array(3), 0.5)).toThrow(RangeError);
  });
});

describe('the served model of an aggregator', () => {
  it('is the model itself when nothing is averaged', () => {
    const agg = FedBuffAggregator.create(config(), layout, Float32Array.from([1, 2]));
    expect(agg.served).toBe(agg.model);
    agg.fold(update(0, [0.5, 0.5]));
    expect(agg.served).toBe(agg.model);
    expect(agg.snapshot().served).toBeNull();
  });

  it('starts at the initial model and follows each step by β, hand-computed', () => {
    const agg = FedBuffAggregator.create(config({ servedAverage: 0.5 }), layout, Float32Array.from([4, 0]));
    expect(agg.served).not.toBe(agg.model);
    expect([...agg.served]).toEqual([4, 0]);
    agg.fold(update(0, [2, -2])); // x₁ = [2, 2]
    expect([...agg.model]).toEqual([2, 2]);
    expect([...agg.served]).toEqual([3, 1]);
    agg.fold(update(1, [2, 0])); // x₂ = [0, 2]
    expect([...agg.served]).toEqual([1.5, 1.5]);
  });

  it('moves only when a step does: a buffered update leaves it as it was', () => {
    const agg = FedBuffAggregator.create(
      config({ servedAverage: 0.5, bufferSize: 2 }),
      layout,
      Float32Array.from([1, 1]),
    );
    agg.fold(update(0, [1, 1]));
    expect([...agg.served]).toEqual([1, 1]);
    agg.fold(update(0, [1, 1]));
    expect([...agg.served]).toEqual([0.5, 0.5]);
  });

  it('never feeds back into training: the models are bit for bit those of an aggregator without it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.array(fc.tuple(fc.float({ min: -1, max: 1, noNaN: true }), fc.nat(2)), {
          minLength: 1,
          maxLength: 30,
        }),
        (beta, stream) => {
          const plain = FedBuffAggregator.create(
            config({ bufferSize: 2 }),
            layout,
            Float32Array.from([1, 2]),
          );
          const averaged = FedBuffAggregator.create(
            config({ bufferSize: 2, servedAverage: beta }),
            layout,
            Float32Array.from([1, 2]),
          );
          for (const [value, lag] of stream)
            for (const agg of [plain, averaged])
              agg.fold(update(Math.max(0, agg.version - lag), [value, -value]));
          expect(averaged.model).toEqual(plain.model);
          expect(averaged.version).toBe(plain.version);
        },
      ),
    );
  });
});

describe('the served model in a checkpoint', () => {
  it('restores exactly, and goes on as if never interrupted', () => {
    const original = FedBuffAggregator.create(
      config({ servedAverage: 0.75 }),
      layout,
      Float32Array.from([1, -1]),
    );
    original.fold(update(0, [0.3, 0.1]));
    const restored = restoreAggregator(serializeAggregator(original));
    expect(restored.served).toEqual(original.served);
    expect(restored.config.servedAverage).toBe(0.75);
    const next = update(1, [-0.2, 0.4]);
    original.fold(next);
    restored.fold({ ...next });
    expect(restored.served).toEqual(original.served);
    expect(
      Buffer.from(serializeAggregator(restored)).equals(Buffer.from(serializeAggregator(original))),
    ).toBe(true);
  });

  it('reads a checkpoint from before the served model as not averaging', () => {
    const bytes = serializeAggregator(FedBuffAggregator.create(config(), layout, Float32Array.from([1, 2])));
    const restored = restoreAggregator(withoutHeaderKey(bytes, 'servedAverage'));
    expect(restored.config.servedAverage).toBe(0);
    expect(restored.served).toBe(restored.model);
  });

  it('refuses a checkpoint that averages but holds no served model', () => {
    const averaging = FedBuffAggregator.create(config({ servedAverage: 0.5 }), layout, new Float32Array(2));
    const plain = serializeAggregator(FedBuffAggregator.create(config(), layout, new Float32Array(2)));
    const header = headerOf(plain);
    header.config = averaging.config;
    expect(codeOf(() => restoreAggregator(withHeader(plain, header)))).toBe('TRIB_STATE_CORRUPT');
  });
});

describe('servedAverage validation', () => {
  it.each([-0.1, 1, 1.5, Number.NaN])('refuses %s with a message naming the field', (servedAverage) => {
    const error = (() => {
      try {
        validateFedBuffConfig(config({ servedAverage }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/servedAverage: must be in \[0, 1\)/);
  });

  it.each([0, 0.5, 0.999])('takes %s', (servedAverage) => {
    expect(validateFedBuffConfig(config({ servedAverage })).servedAverage).toBe(servedAverage);
  });
});

// A checkpoint is "TRIBAGG1" | u32 header length | JSON header | padding to 4 | arrays (./state.ts).
type Header = Record<string, unknown> & { config: unknown };
function headerOf(bytes: Uint8Array): Header {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as Header;
}
function withHeader(bytes: Uint8Array, header: Header): Uint8Array {
  const oldLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const arrays = bytes.subarray(Math.ceil((12 + oldLength) / 4) * 4);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  const out = new Uint8Array(start + arrays.length);
  out.set(bytes.subarray(0, 8), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(arrays, start);
  return out;
}
function withoutHeaderKey(bytes: Uint8Array, key: string): Uint8Array {
  const header = headerOf(bytes);
  const { [key]: _dropped, ...config } = header.config as Record<string, unknown>;
  return withHeader(bytes, { ...header, config });
}
