/**
 * Fold throughput against the machine's memory bandwidth, measured in the same run.
 *
 * Folding one delta of N float32 parameters streams: the validation pass reads the delta (4 B/param),
 * the fold pass reads the delta and reads and writes the buffer sum (12 B/param): 16 B/param in all.
 * Two references, measured on the same arrays in the same run:
 *   memory bound  a copy (Float32Array.set, i.e. memcpy, 8 B/param): the machine's bandwidth;
 *   loop bound    a plain JS axpy loop (y += a·x, 12 B/param): what scalar JS reaches.
 * Reported: fold params/s ÷ (reference bytes/s ÷ 16 B) for each. The goal is ≥ 0.5 of the memory
 * bound.
 */
import { FedBuffAggregator } from '../lib/core/fedbuff/aggregator.js';
import { DEFAULT_FEDBUFF } from '../lib/core/fedbuff/config.js';
import { modelLayout } from '../lib/core/fedbuff/layout.js';
import { machine, median, table, timeRuns, writeResult } from './common.js';

const SIZES = [100_000, 1_000_000, 10_000_000];
const BYTES_PER_FOLDED_PARAM = 16;

function axpy(y: Float32Array, x: Float32Array, a: number): void {
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + a * (x[i] as number);
}

export async function runFold(): Promise<void> {
  const rows: Record<string, number>[] = [];
  for (const n of SIZES) {
    const repeats = n >= 10_000_000 ? 7 : n >= 1_000_000 ? 25 : 200;
    const x = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-3);
    const y = new Float32Array(n);
    const copyTarget = new Float32Array(n);
    const copyRuns = timeRuns(() => copyTarget.set(x), repeats);
    const axpyRuns = timeRuns(() => axpy(y, x, 0.5), repeats);

    const layout = modelLayout('bench', [{ name: 'w', shape: [n] }]);
    // K huge: every fold buffers, none flushes, so the loop measures folding alone.
    const aggregator = FedBuffAggregator.create(
      {
        ...DEFAULT_FEDBUFF,
        jobId: 'bench',
        bufferSize: 1_000_000,
        maxStaleness: 1_000_000,
        maxDeltaNorm: null,
      },
      layout,
      new Float32Array(n),
    );
    let counter = 0;
    const tensors = [{ name: 'w', shape: [n], values: x }];
    const foldRuns = timeRuns(
      () =>
        aggregator.fold({
          updateId: `u${counter++}`,
          jobId: 'bench',
          workerId: 'w',
          baseVersion: 0,
          numExamples: 1,
          tensors,
        }),
      repeats,
    );
    const copyGBs = (8 * n) / median(copyRuns) / 1e9;
    const axpyGBs = (12 * n) / median(axpyRuns) / 1e9;
    const foldParamsPerSecond = n / median(foldRuns);
    const boundParamsPerSecond = (copyGBs * 1e9) / BYTES_PER_FOLDED_PARAM;
    const loopBoundParamsPerSecond = (axpyGBs * 1e9) / BYTES_PER_FOLDED_PARAM;
    rows.push({
      params: n,
      repeats,
      copyGBs,
      axpyGBs,
      foldParamsPerSecond,
      foldGBs: (foldParamsPerSecond * BYTES_PER_FOLDED_PARAM) / 1e9,
      boundParamsPerSecond,
      ratio: foldParamsPerSecond / boundParamsPerSecond,
      loopBoundParamsPerSecond,
      loopRatio: foldParamsPerSecond / loopBoundParamsPerSecond,
      copyMedianSeconds: median(copyRuns),
      axpyMedianSeconds: median(axpyRuns),
      foldMedianSeconds: median(foldRuns),
      copyRuns: copyRuns as unknown as number,
      axpyRuns: axpyRuns as unknown as number,
      foldRuns: foldRuns as unknown as number,
    });
    console.log(
      JSON.stringify({
        bench: 'fold',
        params: n,
        copyGBs: copyGBs.toFixed(2),
        axpyGBs: axpyGBs.toFixed(2),
        foldMParamsPerSecond: (foldParamsPerSecond / 1e6).toFixed(1),
        ratioToMemory: (foldParamsPerSecond / boundParamsPerSecond).toFixed(2),
        ratioToJsLoop: (foldParamsPerSecond / loopBoundParamsPerSecond).toFixed(2),
      }),
    );
  }
  const md = [
    '# Fold throughput against memory bandwidth',
    '',
    `Machine: ${JSON.stringify(machine())}`,
    '',
    "A fold moves 16 bytes per parameter (validation read 4 B + fold read 4 B + buffer read/write 8 B). Memory bound: copy (memcpy) bandwidth ÷ 16 B. JS-loop bound: a plain JS axpy loop's bandwidth ÷ 16 B. Both measured on the same arrays in this run.",
    '',
    table(
      [
        'parameters',
        'copy GB/s',
        'JS axpy GB/s',
        'fold M params/s',
        'fold GB/s (16 B/param)',
        'memory bound M params/s',
        'fold / memory bound',
        'fold / JS-loop bound',
      ],
      rows.map((r) => [
        r.params as number,
        (r.copyGBs as number).toFixed(2),
        (r.axpyGBs as number).toFixed(2),
        ((r.foldParamsPerSecond as number) / 1e6).toFixed(1),
        (r.foldGBs as number).toFixed(2),
        ((r.boundParamsPerSecond as number) / 1e6).toFixed(1),
        (r.ratio as number).toFixed(2),
        (r.loopRatio as number).toFixed(2),
      ]),
    ),
    '',
  ].join('\n');
  const files = writeResult(
    'fold',
    { bench: 'fold', machine: machine(), bytesPerFoldedParam: BYTES_PER_FOLDED_PARAM, sizes: SIZES, rows },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'fold', written: files }));
}
