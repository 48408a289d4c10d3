/**
 * Fold throughput against the machine's memory bandwidth, measured in the same run.
 *
 * Folding one delta of N float32 parameters streams: the validation pass reads the delta (4 B/param),
 * the fold pass reads the delta and reads and writes the buffer sum (12 B/param): 16 B/param in all.
 * References, measured in the same run, interleaved with the folds:
 *   memory bound  a copy (Float32Array.set, i.e. memcpy, 8 B/param) of the same size, or of 2 × 512
 *                 MiB (main memory, beyond every cache), whichever is faster: the strictest bound;
 *   loop bound    a plain JS axpy loop (y += a·x, 12 B/param): what scalar JS reaches.
 * Three ways of folding, same run, same aggregator code:
 *   js            the scalar JavaScript kernels (before WebAssembly);
 *   wasm-simd     the WebAssembly SIMD kernels, the delta decoded into the aggregator's staging area
 *                 (as the coordinator does);
 *   wasm-simd+copy  the same, the delta handed in from elsewhere, so it is copied in first (+8 B/param).
 * Reported: fold params/s ÷ (reference bytes/s ÷ 16 B). The goal is ≥ 0.5 of the memory bound.
 */
import { spawnSync } from 'node:child_process';
import { FedBuffAggregator } from '../lib/core/fedbuff/aggregator.js';
import { DEFAULT_FEDBUFF } from '../lib/core/fedbuff/config.js';
import type { FoldKernelKind } from '../lib/core/fedbuff/fold-arena.js';
import { modelLayout } from '../lib/core/fedbuff/layout.js';
import { machine, median, seconds, table, timeRuns, writeResult } from './common.js';

const SIZES = [100_000, 1_000_000, 10_000_000];
/** 2 × 512 MiB: twice the largest last-level cache seen here (260 MiB), so this copy streams DRAM. */
const DRAM_PROBE_FLOATS = 128 * 2 ** 20;
const BYTES_PER_FOLDED_PARAM = 16;
const VARIANTS = ['js', 'wasm-simd', 'wasm-simd+copy'] as const;
type Variant = (typeof VARIANTS)[number];

/** The CPU's cache sizes as lscpu reports them (Linux), for reading the bounds. */
function cacheNote(): string {
  const probe = spawnSync('lscpu', [], { encoding: 'utf8' });
  const lines = (probe.stdout ?? '').split('\n').filter((l) => /^L[123].? cache/.test(l));
  return lines.map((l) => l.replace(/\s+/g, ' ').trim()).join('; ') || 'cache sizes unknown';
}

function axpy(y: Float32Array, x: Float32Array, a: number): void {
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + a * (x[i] as number);
}

interface FoldFigures {
  readonly paramsPerSecond: number;
  /** Against a copy of the same size: the bandwidth of wherever this working set lives. */
  readonly ratioToMemory: number;
  /** Against a copy far larger than the caches: main memory's bandwidth. */
  readonly ratioToDram: number;
  readonly ratioToJsLoop: number;
}

interface FoldRow {
  readonly params: number;
  readonly copyGBs: number;
  readonly boundGBs: number;
  readonly axpyGBs: number;
  readonly boundParamsPerSecond: number;
  readonly folds: Record<Variant, FoldFigures>;
  readonly speedupWasmOverJs: number;
}

/** One fold of the delta `x` per call, the way `variant` folds it, into an aggregator of its own. */
function folder(variant: Variant, x: Float32Array): () => void {
  const n = x.length;
  const layout = modelLayout('bench', [{ name: 'w', shape: [n] }]);
  const kernel: FoldKernelKind = variant === 'js' ? 'js' : 'wasm-simd';
  // K huge: every fold buffers, none flushes, so the loop measures folding alone.
  const aggregator = FedBuffAggregator.create(
    {
      ...DEFAULT_FEDBUFF,
      jobId: 'bench',
      guard: null,
      bufferSize: 1_000_000,
      maxStaleness: 1_000_000,
      maxDeltaNorm: null,
    },
    layout,
    new Float32Array(n),
    0,
    { foldKernel: kernel },
  );
  let values = x;
  if (variant === 'wasm-simd') {
    aggregator.stagingArea.set(x); // where the coordinator decodes an update
    values = aggregator.stagingArea;
  }
  const tensors = [{ name: 'w', shape: [n], values }];
  let counter = 0;
  return () => {
    aggregator.fold({
      updateId: `u${counter++}`,
      jobId: 'bench',
      workerId: 'w',
      baseVersion: 0,
      numExamples: 1,
      tensors,
    });
  };
}

/**
 * Times each task `repeats` times, interleaved (copy, axpy, fold₁, fold₂, … then again), so a noisy
 * neighbour slows every measurement alike instead of one of them. Each timing is of a second,
 * back-to-back call, so every task (the copy that sets the bound included) runs with its own data
 * as warm in the caches as it can be: the strictest bound, measured alike for all.
 */
function timeInterleaved(tasks: readonly (() => void)[], repeats: number): number[][] {
  const runs = tasks.map(() => [] as number[]);
  for (let round = -1; round < repeats; round++)
    tasks.forEach((task, i) => {
      task();
      const start = process.hrtime.bigint();
      task();
      if (round >= 0) runs[i]?.push(seconds(start));
    });
  return runs;
}

/** Copy bandwidth (GB/s, read + write) on arrays far larger than any cache: main memory's. */
function dramCopyGBs(): number {
  const source = new Float32Array(DRAM_PROBE_FLOATS).fill(1);
  const target = new Float32Array(DRAM_PROBE_FLOATS);
  return (8 * DRAM_PROBE_FLOATS) / median(timeRuns(() => target.set(source), 7)) / 1e9;
}

export async function runFold(): Promise<void> {
  const dramGBs = dramCopyGBs();
  const dramBoundParamsPerSecond = (dramGBs * 1e9) / BYTES_PER_FOLDED_PARAM;
  console.log(JSON.stringify({ bench: 'fold', dramCopyGBs: dramGBs.toFixed(2) }));
  const rows: FoldRow[] = [];
  for (const n of SIZES) {
    const repeats = n >= 10_000_000 ? 15 : n >= 1_000_000 ? 40 : 300;
    const x = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-3);
    const y = new Float32Array(n);
    const copyTarget = new Float32Array(n);
    const [copyRuns = [], axpyRuns = [], ...foldRuns] = timeInterleaved(
      [() => copyTarget.set(x), () => axpy(y, x, 0.5), ...VARIANTS.map((v) => folder(v, x))],
      repeats,
    );
    const copyGBs = (8 * n) / median(copyRuns) / 1e9;
    const axpyGBs = (12 * n) / median(axpyRuns) / 1e9;
    // The strictest bound either copy sets: a same-size copy (interleaved with the folds) can come
    // out slower than main memory when the other tasks have evicted its arrays.
    const boundGBs = Math.max(copyGBs, dramGBs);
    const boundParamsPerSecond = (boundGBs * 1e9) / BYTES_PER_FOLDED_PARAM;
    const loopBoundParamsPerSecond = (axpyGBs * 1e9) / BYTES_PER_FOLDED_PARAM;
    const folds = Object.fromEntries(
      VARIANTS.map((variant, i) => {
        const runs = foldRuns[i] ?? [];
        const paramsPerSecond = n / median(runs);
        return [
          variant,
          {
            paramsPerSecond,
            ratioToMemory: paramsPerSecond / boundParamsPerSecond,
            ratioToDram: paramsPerSecond / dramBoundParamsPerSecond,
            ratioToJsLoop: paramsPerSecond / loopBoundParamsPerSecond,
            medianSeconds: median(runs),
            runs,
          },
        ];
      }),
    ) as unknown as Record<Variant, FoldFigures>;
    const row = {
      params: n,
      repeats,
      copyGBs,
      boundGBs,
      axpyGBs,
      boundParamsPerSecond,
      loopBoundParamsPerSecond,
      copyRuns,
      axpyRuns,
      folds,
      speedupWasmOverJs: folds['wasm-simd'].paramsPerSecond / folds.js.paramsPerSecond,
    };
    rows.push(row);
    console.log(
      JSON.stringify({
        bench: 'fold',
        params: n,
        copyGBs: copyGBs.toFixed(2),
        memoryBoundMParamsPerSecond: (boundParamsPerSecond / 1e6).toFixed(1),
        ...Object.fromEntries(
          VARIANTS.map((v) => [
            v,
            `${(folds[v].paramsPerSecond / 1e6).toFixed(1)} M/s (${folds[v].ratioToMemory.toFixed(2)} of memory)`,
          ]),
        ),
      }),
    );
  }
  const wasmRatios = rows.map((r) => r.folds['wasm-simd'].ratioToMemory);
  const md = [
    '# Fold throughput against memory bandwidth',
    '',
    `Machine: ${JSON.stringify(machine())}`,
    '',
    "A fold moves 16 bytes per parameter (validation read 4 B + fold read 4 B + buffer read/write 8 B). Memory bound: copy (memcpy) bandwidth ÷ 16 B, the bandwidth being the faster of a copy of the row's size and a copy of 2 × 512 MiB (main memory), so the strictest of the two. Copies and folds are timed interleaved, each timing a second back-to-back call (warm caches for every task alike), medians over the repeats. Folds: `js` is the scalar JavaScript kernel (before), `wasm-simd` the WebAssembly SIMD kernel reading the delta where the coordinator decodes it (after), `wasm-simd+copy` the same with the delta copied in first. The two kernels give bit-identical results (unit-tested).",
    '',
    table(
      [
        'parameters',
        'same-size copy GB/s',
        'bound GB/s',
        'memory bound M params/s',
        'JS axpy GB/s',
        ...VARIANTS.map((v) => `${v} M params/s`),
        ...VARIANTS.map((v) => `${v} / memory bound`),
        'wasm-simd / DRAM bound',
        'wasm-simd / js',
      ],
      rows.map((r) => [
        r.params,
        r.copyGBs.toFixed(2),
        r.boundGBs.toFixed(2),
        (r.boundParamsPerSecond / 1e6).toFixed(1),
        r.axpyGBs.toFixed(2),
        ...VARIANTS.map((v) => (r.folds[v].paramsPerSecond / 1e6).toFixed(1)),
        ...VARIANTS.map((v) => r.folds[v].ratioToMemory.toFixed(2)),
        r.folds['wasm-simd'].ratioToDram.toFixed(2),
        `${r.speedupWasmOverJs.toFixed(2)}×`,
      ]),
    ),
    '',
    `WebAssembly SIMD fold against the memory bound: ${wasmRatios.map((x) => x.toFixed(2)).join(', ')} at ${SIZES.join(', ')} parameters (goal ≥ 0.5).`,
    '',
    `The memory bound of each row is a copy of that row's size, so it is the bandwidth of wherever that working set lives: at 100 k parameters (0.4 MB per array) the L2 cache, at 1 M and 10 M the last-level cache (${cacheNote()}). Main memory, measured with a copy of 2 × 512 MiB in the same run: ${dramGBs.toFixed(2)} GB/s, a bound of ${(dramBoundParamsPerSecond / 1e6).toFixed(1)} M params/s (the "DRAM bound" column).`,
    '',
  ].join('\n');
  const files = writeResult(
    'fold',
    {
      bench: 'fold',
      machine: machine(),
      caches: cacheNote(),
      bytesPerFoldedParam: BYTES_PER_FOLDED_PARAM,
      sizes: SIZES,
      dram: {
        probeFloats: DRAM_PROBE_FLOATS,
        copyGBs: dramGBs,
        boundParamsPerSecond: dramBoundParamsPerSecond,
      },
      rows,
    },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'fold', written: files }));
}
