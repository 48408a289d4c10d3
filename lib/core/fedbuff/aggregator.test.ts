import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, isTributaryError, type ErrorCode } from '../errors.js';
import { FedBuffAggregator, type UpdateForFold } from './aggregator.js';
import { DEFAULT_FEDBUFF, fedAvgConfig, validateFedBuffConfig, type FedBuffConfig } from './config.js';
import { modelLayout } from './layout.js';
import { checkpointLayout, restoreAggregator, serializeAggregator } from './state.js';
import { codeOf } from '../../../test/support/codes.js';

const layout = modelLayout('toy', [
  { name: 'w', shape: [2] },
  { name: 'b', shape: [1] },
]);

function config(overrides: Partial<FedBuffConfig> = {}): FedBuffConfig {
  return { ...DEFAULT_FEDBUFF, jobId: 'job', maxDeltaNorm: null, guard: null, ...overrides };
}

let counter = 0;
function update(baseVersion: number, w: number[], b = 0, extra: Partial<UpdateForFold> = {}): UpdateForFold {
  counter += 1;
  return {
    updateId: `u${counter}`,
    jobId: 'job',
    workerId: 'worker',
    baseVersion,
    numExamples: 1,
    tensors: [
      { name: 'w', shape: [2], values: Float32Array.from(w) },
      { name: 'b', shape: [1], values: Float32Array.from([b]) },
    ],
    ...extra,
  };
}

const close = (actual: Float32Array, expected: number[], digits = 6) =>
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));

describe('FedBuff, hand-computed', () => {
  it('buffers K deltas, steps once, and weights stale ones by 1/sqrt(1+τ)', () => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 2, averaging: 'uniform' }),
      layout,
      Float32Array.from([1, 2, 0]),
    );
    expect(agg.fold(update(0, [0.2, 0.4])).flush).toBeNull();
    const first = agg.fold(update(0, [0.4, 0]));
    expect(first.flush?.version).toBe(1);
    close(agg.model, [0.7, 1.8, 0]); // x − mean([0.2,0.4],[0.4,0]) = x − [0.3,0.2]

    const stale = agg.fold(update(0, [Math.SQRT2, 0])); // τ = 1, s = 1/√2, so s·Δ = [1, 0]
    expect(stale.update.staleness).toBe(1);
    expect(stale.update.stalenessWeight).toBeCloseTo(Math.SQRT1_2, 12);
    agg.fold(update(1, [0, 1]));
    close(agg.model, [0.2, 1.3, 0]); // − mean([1,0],[0,1])
    expect(agg.version).toBe(2);
  });

  it('weights the average by example count', () => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 2, averaging: 'examples' }),
      layout,
      new Float32Array(3),
    );
    agg.fold(update(0, [1, 0], 0, { numExamples: 1 }));
    agg.fold(update(0, [0, 1], 0, { numExamples: 3 }));
    close(agg.model, [-0.25, -0.75, 0]);
  });

  it('scales the server step by the server learning rate', () => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 1, serverOptimizer: { kind: 'sgd', learningRate: 0.5 } }),
      layout,
      new Float32Array(3),
    );
    agg.fold(update(0, [2, -4], 1));
    close(agg.model, [-1, 2, -0.5]);
  });

  it('uses the hinge weight: 1 up to b, then 1/(a(τ−b)+1)', () => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 1, staleness: { kind: 'hinge', a: 10, b: 1 } }),
      layout,
      new Float32Array(3),
    );
    for (let i = 0; i < 3; i++) agg.fold(update(agg.version, [0, 0]));
    expect(agg.fold(update(2, [0, 0])).update.stalenessWeight).toBe(1); // τ = 1
    expect(agg.fold(update(2, [0, 0])).update.stalenessWeight).toBeCloseTo(1 / 11, 12); // τ = 2
  });

  it('clips each delta to the clip norm before folding', () => {
    const agg = FedBuffAggregator.create(config({ bufferSize: 1, clipNorm: 1 }), layout, new Float32Array(3));
    const outcome = agg.fold(update(0, [3, 4]));
    expect(outcome.update.norm).toBeCloseTo(5, 6);
    expect(outcome.update.clipFactor).toBeCloseTo(0.2, 6);
    close(agg.model, [-0.6, -0.8, 0]);
  });

  it('reduces by coordinate-wise median', () => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 3, reduction: { kind: 'median' }, staleness: { kind: 'constant' } }),
      layout,
      new Float32Array(3),
    );
    agg.fold(update(0, [1, 10], 5));
    agg.fold(update(0, [2, 20], -1));
    agg.fold(update(0, [100, -5], 0));
    close(agg.model, [-2, -10, 0]);
  });

  it('reduces by trimmed mean, dropping the extremes of each coordinate', () => {
    const agg = FedBuffAggregator.create(
      config({
        bufferSize: 4,
        reduction: { kind: 'trimmed-mean', trimFraction: 0.25 },
        staleness: { kind: 'constant' },
      }),
      layout,
      new Float32Array(3),
    );
    agg.fold(update(0, [1, -100], 1));
    agg.fold(update(0, [2, 3], 2));
    agg.fold(update(0, [3, 5], 3));
    agg.fold(update(0, [1000, 7], 4));
    close(agg.model, [-2.5, -4, -2.5]);
  });

  it('is FedAsync with K = 1: one version per update', () => {
    const agg = FedBuffAggregator.create(config({ bufferSize: 1 }), layout, new Float32Array(3));
    for (let i = 1; i <= 3; i++) expect(agg.fold(update(agg.version, [0.1, 0])).flush?.version).toBe(i);
  });
});

describe('server optimizers, hand-computed over two steps of Δ = [0.5, −1, 0]', () => {
  const run = (serverOptimizer: FedBuffConfig['serverOptimizer']) => {
    const agg = FedBuffAggregator.create(
      config({ bufferSize: 1, serverOptimizer }),
      layout,
      new Float32Array(3),
    );
    agg.fold(update(0, [0.5, -1], 0));
    const afterOne = Float32Array.from(agg.model);
    agg.fold(update(1, [0.5, -1], 0));
    return [afterOne, agg.model] as const;
  };

  it('sgd: x −= η Δ', () => {
    const [one, two] = run({ kind: 'sgd', learningRate: 0.1 });
    close(one, [-0.05, 0.1, 0]);
    close(two, [-0.1, 0.2, 0]);
  });

  it('momentum: m = βm + Δ, x −= η m', () => {
    const [one, two] = run({ kind: 'momentum', learningRate: 0.1, momentum: 0.9 });
    close(one, [-0.05, 0.1, 0]);
    close(two, [-0.145, 0.29, 0]); // m₂ = 1.9 Δ
  });

  it('adagrad: v = τ² + ΣΔ², x −= η Δ/(√v + τ)', () => {
    const [one, two] = run({ kind: 'adagrad', learningRate: 0.1, tau: 0.5 });
    // v₁ = 0.25 + 0.25 = 0.5 → step₁ = 0.1·0.5/(√0.5+0.5); v₂ = 0.75
    const s1 = (0.1 * 0.5) / (Math.sqrt(0.5) + 0.5);
    const s2 = (0.1 * 0.5) / (Math.sqrt(0.75) + 0.5);
    close(one, [-s1, (0.1 * 1) / (Math.sqrt(1.25) + 0.5), 0]);
    close(two, [-s1 - s2, (0.1 * 1) / (Math.sqrt(1.25) + 0.5) + (0.1 * 1) / (Math.sqrt(2.25) + 0.5), 0]);
  });

  it('adam: m = β1 m + (1−β1)Δ, v = β2 v + (1−β2)Δ², no bias correction', () => {
    const [one] = run({ kind: 'adam', learningRate: 1, beta1: 0.5, beta2: 0.5, tau: 0.5 });
    // coordinate 0: m = 0.25, v = 0.5·0.25 + 0.5·0.25 = 0.25 → step = 0.25/(0.5+0.5) = 0.25
    // coordinate 1: m = −0.5, v = 0.5·0.25 + 0.5·1 = 0.625
    close(one, [-0.25, 0.5 / (Math.sqrt(0.625) + 0.5), 0]);
  });

  it('yogi: v = v − (1−β2)Δ² sign(v − Δ²)', () => {
    const [one] = run({ kind: 'yogi', learningRate: 1, beta1: 0.5, beta2: 0.5, tau: 0.5 });
    // coordinate 0: v₀ = Δ² = 0.25 → sign 0 → v = 0.25; step = 0.25/(0.5+0.5)
    // coordinate 1: v₀ = 0.25 < Δ² = 1 → v = 0.25 + 0.5 = 0.75
    close(one, [-0.25, 0.5 / (Math.sqrt(0.75) + 0.5), 0]);
  });
});

describe('validation: a rejected update leaves the state bit for bit unchanged', () => {
  const cases: [string, (agg: FedBuffAggregator) => UpdateForFold, ErrorCode][] = [
    ['NaN values', () => update(1, [NaN, 0]), 'TRIB_NON_FINITE'],
    ['infinite values', () => update(1, [0, 0], Infinity), 'TRIB_NON_FINITE'],
    [
      'a missing tensor',
      () => ({ ...update(1, [0, 0]), tensors: update(1, [0, 0]).tensors.slice(0, 1) }),
      'TRIB_SHAPE_MISMATCH',
    ],
    [
      'a wrong shape',
      () => ({
        ...update(1, [0, 0]),
        tensors: [
          { name: 'w', shape: [1, 2], values: new Float32Array(2) },
          { name: 'b', shape: [1], values: new Float32Array(1) },
        ],
      }),
      'TRIB_SHAPE_MISMATCH',
    ],
    [
      'an unknown tensor name',
      () => ({
        ...update(1, [0, 0]),
        tensors: [
          { name: 'w', shape: [2], values: new Float32Array(2) },
          { name: 'x', shape: [1], values: new Float32Array(1) },
        ],
      }),
      'TRIB_SHAPE_MISMATCH',
    ],
    ['a base version from the future', () => update(5, [0, 0]), 'TRIB_FUTURE_VERSION'],
    ['staleness beyond the maximum', () => update(0, [0, 0]), 'TRIB_STALE_UPDATE'],
    ['a replayed update id', () => ({ ...update(1, [0, 0]), updateId: 'seen' }), 'TRIB_DUPLICATE_UPDATE'],
    ['a delta above the hard norm limit', () => update(1, [300, 400]), 'TRIB_NORM_EXCEEDED'],
    ['another job', () => update(1, [0, 0], 0, { jobId: 'other' }), 'TRIB_WRONG_JOB'],
    ['zero examples', () => update(1, [0, 0], 0, { numExamples: 0 }), 'TRIB_INVALID_UPDATE'],
  ];

  it.each(cases)('rejects %s', (_, make, code) => {
    const agg = FedBuffAggregator.create(
      config({
        bufferSize: 3,
        maxStaleness: 0,
        maxDeltaNorm: 100,
        serverOptimizer: { kind: 'adam', learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
      }),
      layout,
      Float32Array.from([1, 2, 3]),
    );
    agg.fold(update(0, [0.1, 0.2]));
    agg.fold(update(0, [0.1, 0.2]));
    agg.fold(update(0, [0.1, 0.2])); // flush → version 1, moments non-zero
    agg.fold({ ...update(1, [0.3, 0.1]), updateId: 'seen' }); // one update in the buffer
    const before = serializeAggregator(agg);
    let error: unknown;
    try {
      agg.fold(make(agg));
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
    expect(Buffer.from(serializeAggregator(agg)).equals(Buffer.from(before))).toBe(true);
  });
});

describe('config validation', () => {
  it('lists every bad field in one error', () => {
    let error: unknown;
    try {
      validateFedBuffConfig(
        config({
          bufferSize: 0,
          maxStaleness: -1,
          staleness: { kind: 'polynomial', exponent: 2 },
          clipNorm: -1,
        }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
      'bufferSize (K)',
      'maxStaleness',
      'staleness.exponent',
      'clipNorm',
    ]);
  });
});

describe('properties', () => {
  const vector = (n: number) =>
    fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), {
      minLength: n,
      maxLength: n,
    });
  const clients = fc.array(fc.record({ w: vector(3), n: fc.integer({ min: 1, max: 1000 }) }), {
    minLength: 1,
    maxLength: 8,
  });
  const asUpdate = (
    c: { w: number[]; n: number },
    base: number,
    id: string,
    model: Float32Array,
  ): UpdateForFold => ({
    updateId: id,
    jobId: 'job',
    workerId: id,
    baseVersion: base,
    numExamples: c.n,
    tensors: [
      {
        name: 'w',
        shape: [2],
        values: Float32Array.from([
          (model[0] as number) - (c.w[0] as number),
          (model[1] as number) - (c.w[1] as number),
        ]),
      },
      { name: 'b', shape: [1], values: Float32Array.from([(model[2] as number) - (c.w[2] as number)]) },
    ],
  });

  it('K = cohort with constant weights reproduces the example-weighted FedAvg mean of the client models', () => {
    fc.assert(
      fc.property(clients, vector(3), (cohort, start) => {
        const model = Float32Array.from(start);
        const agg = FedBuffAggregator.create(
          fedAvgConfig('job', cohort.length, { maxDeltaNorm: null, guard: null }),
          layout,
          model,
        );
        cohort.forEach((c, i) => agg.fold(asUpdate(c, 0, `c${i}`, model)));
        expect(agg.version).toBe(1);
        const total = cohort.reduce((s, c) => s + c.n, 0);
        for (let j = 0; j < 3; j++) {
          const mean = cohort.reduce((s, c) => s + c.n * (c.w[j] as number), 0) / total;
          expect(Math.abs((agg.model[j] as number) - mean)).toBeLessThan(1e-4);
        }
      }),
    );
  });

  it('fold order within one buffer does not change the result', () => {
    fc.assert(
      fc.property(clients, fc.integer({ min: 0, max: 2 }), (cohort, base) => {
        const model = new Float32Array(3);
        const build = () => {
          const agg = FedBuffAggregator.create(
            config({ bufferSize: cohort.length, maxStaleness: 5 }),
            layout,
            model,
          );
          for (let i = 0; i < base; i++) {
            agg.fold({ ...asUpdate({ w: [0, 0, 0], n: 1 }, i, `warm${i}`, model), baseVersion: i });
            agg.flush();
          }
          return agg;
        };
        const forward = build();
        const backward = build();
        cohort.forEach((c, i) => forward.fold(asUpdate(c, i % (base + 1), `c${i}`, model)));
        [...cohort.entries()]
          .reverse()
          .forEach(([i, c]) => backward.fold(asUpdate(c, i % (base + 1), `c${i}`, model)));
        for (let j = 0; j < 3; j++)
          expect(Math.abs((forward.model[j] as number) - (backward.model[j] as number))).toBeLessThan(1e-4);
      }),
    );
  });

  it('serialise → restore → continue equals continue, bit for bit, for every optimizer and reduction', () => {
    const optimizers: FedBuffConfig['serverOptimizer'][] = [
      { kind: 'sgd', learningRate: 1 },
      { kind: 'momentum', learningRate: 0.5, momentum: 0.9 },
      { kind: 'adagrad', learningRate: 0.1, tau: 1e-3 },
      { kind: 'adam', learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
      { kind: 'yogi', learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
    ];
    const reductions: FedBuffConfig['reduction'][] = [
      { kind: 'mean' },
      { kind: 'median' },
      { kind: 'trimmed-mean', trimFraction: 0.2 },
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...optimizers),
        fc.constantFrom(...reductions),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ w: vector(3), n: fc.integer({ min: 1, max: 50 }), lag: fc.nat(2) }), {
          minLength: 2,
          maxLength: 14,
        }),
        fc.nat(),
        (serverOptimizer, reduction, bufferSize, stream, cutSeed) => {
          const cut = cutSeed % stream.length;
          const original = FedBuffAggregator.create(
            config({ bufferSize, serverOptimizer, reduction, clipNorm: 20 }),
            layout,
            new Float32Array(3),
          );
          const feed = (agg: FedBuffAggregator, from: number, to: number) => {
            for (let i = from; i < to; i++) {
              const c = stream[i] as (typeof stream)[number];
              agg.fold(asUpdate(c, Math.max(0, agg.version - c.lag), `s${i}`, agg.model));
            }
          };
          feed(original, 0, cut);
          const restored = restoreAggregator(serializeAggregator(original));
          feed(original, cut, stream.length);
          feed(restored, cut, stream.length);
          expect(
            Buffer.from(serializeAggregator(restored)).equals(Buffer.from(serializeAggregator(original))),
          ).toBe(true);
        },
      ),
    );
  });

  it('a restored checkpoint still refuses updates it had folded', () => {
    const agg = FedBuffAggregator.create(config({ bufferSize: 2 }), layout, new Float32Array(3));
    agg.fold({ ...update(0, [1, 1]), updateId: 'once' });
    const restored = restoreAggregator(serializeAggregator(agg));
    expect(() => restored.fold({ ...update(0, [1, 1]), updateId: 'once' })).toThrow(/TRIB_DUPLICATE_UPDATE/);
  });

  it('rejects a damaged checkpoint with TRIB_STATE_CORRUPT', () => {
    const bytes = serializeAggregator(FedBuffAggregator.create(config(), layout, new Float32Array(3)));
    for (const damaged of [
      bytes.subarray(0, bytes.length - 4),
      Uint8Array.from([...bytes, 0, 0, 0, 0]),
      new Uint8Array(4),
    ]) {
      expect(() => restoreAggregator(damaged)).toThrow(/TRIB_STATE_CORRUPT/);
    }
  });

  it("reads a checkpoint's layout from its header alone, and refuses what is not a checkpoint", () => {
    const agg = FedBuffAggregator.create(config(), layout, new Float32Array(3));
    const bytes = serializeAggregator(agg);
    expect(checkpointLayout(bytes)).toEqual(agg.snapshot().layout);
    // The header is all it reads: the arrays behind it may be cut off.
    expect(checkpointLayout(bytes.subarray(0, bytes.length - 4))).toEqual(layout);
    expect(() => checkpointLayout(new Uint8Array(4))).toThrow(/TRIB_STATE_CORRUPT/);
    expect(() => checkpointLayout(bytes.subarray(0, 20))).toThrow(/TRIB_STATE_CORRUPT/);
  });
});

describe('folded ids over a long job (issue #11)', () => {
  it('keeps at most K × (maxStaleness + 2) ids over 500 versions, and still rejects every replay', () => {
    const aggregator = FedBuffAggregator.create(
      config({ bufferSize: 2, maxStaleness: 3 }),
      layout,
      new Float32Array(layout.size),
    );
    const sent: UpdateForFold[] = [];
    let largest = 0;
    for (let i = 0; i < 1000; i++) {
      // bases spread over the staleness window, as an asynchronous fleet's are
      const u = update(Math.max(0, aggregator.version - (i % 4)), [0.01, -0.01], 0.001);
      aggregator.fold(u);
      sent.push(u);
      largest = Math.max(largest, aggregator.snapshot().foldedIds.size);
    }
    expect(aggregator.version).toBe(500);
    expect(largest).toBeLessThanOrEqual(2 * (3 + 2));
    // still fresh enough to fold again: only its id can stop it
    const recent = sent.filter((u) => u.baseVersion >= aggregator.version - 3).at(-1) as UpdateForFold;
    expect(codeOf(() => aggregator.fold(recent))).toBe('TRIB_DUPLICATE_UPDATE');
    expect(codeOf(() => aggregator.fold(sent[0] as UpdateForFold))).toBe('TRIB_STALE_UPDATE');
    const restored = restoreAggregator(serializeAggregator(aggregator));
    expect(restored.snapshot().foldedIds).toEqual(aggregator.snapshot().foldedIds);
    expect(codeOf(() => restored.fold(recent))).toBe('TRIB_DUPLICATE_UPDATE');
  });
});

describe('checkpoint bytes (regression: a restored config re-serialised in another key order)', () => {
  it('restores a checkpoint of a config built in any key order to the same bytes', () => {
    const { jobId, ...rest } = config({
      serverOptimizer: { kind: 'adam', learningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
    });
    const jobFirst = validateFedBuffConfig({ jobId, ...rest }); // as the coordinator's loader builds it
    const aggregator = FedBuffAggregator.create(jobFirst, layout, new Float32Array(layout.size).fill(0.5));
    aggregator.fold(update(0, [0.1, 0.2], 0.3));
    const bytes = serializeAggregator(aggregator);
    expect(Buffer.from(serializeAggregator(restoreAggregator(bytes))).equals(Buffer.from(bytes))).toBe(true);
  });
});
