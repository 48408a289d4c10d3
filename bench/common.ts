/** Shared by the benchmarks: machine facts, timing, and writing results (JSON + markdown). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedHostThreads } from '../lib/run/federation.js';
import type { DelayBasis } from '../services/worker/delay.js';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export function machine() {
  const pkg = JSON.parse(readFileSync(join(BENCH_DIR, '..', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  // `java -version` prints on stderr.
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const java = `${probe.stderr ?? ''}${probe.stdout ?? ''}`.trim() || 'not found';
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    java: java.split('\n')[0] ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    dependencies: pkg.dependencies,
  };
}

/** What the time-to-accuracy comparisons (tta, flower) record of their runs, whichever system ran them. */
export interface ComparisonContext {
  readonly machine: ReturnType<typeof machine>;
  readonly seeds: readonly number[];
  readonly budgetSeconds: number;
  /** How a simulated slow site's wait is counted (CPU or wall time of its training, or a device's). */
  readonly delayBasis: DelayBasis;
  /** On the `device` basis: the simulated device's ms a sample. */
  readonly deviceMsPerSample?: number | null;
}

/** What the delay multiplier m scales, in a report's words. */
export function delayBasisWords(basis: DelayBasis, deviceMsPerSample?: number | null): string {
  if (basis === 'device')
    return `scaling a simulated device's time (each site a device of its own, ${deviceMsPerSample ?? '?'} ms a sample: training takes m × that, whatever this host took)`;
  return `multiplying training's ${basis === 'cpu' ? 'CPU' : 'wall'} time`;
}

export function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `fn` `repeats` times after `warmup` runs; returns each run's seconds. */
export function timeRuns(fn: () => void, repeats: number, warmup = 2): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    out.push(seconds(start));
  }
  return out;
}

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export function writeResult(name: string, result: unknown, markdown: string): { json: string; md: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${name}.json`);
  const md = join(RESULTS_DIR, `${name}.md`);
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(md, markdown);
  return { json, md };
}

/** bench/results/<name>.json as writeResult wrote it, or null when that benchmark has not run. */
export function readResult<T>(name: string): T | null {
  const file = join(RESULTS_DIR, `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

/** The same, for redrawing a summary: a missing file says which benchmark to run first. */
export function requireResult<T>(name: string): T {
  const saved = readResult<T>(name);
  if (saved === null)
    throw new Error(`bench/results/${name}.json is missing: run \`npm run bench -- ${name}\` first`);
  return saved;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The MNIST example task, which the benchmarks run (its config picks the model and data seed). */
export const MNIST_TASK = fileURLToPath(new URL('../examples/mnist/task.ts', import.meta.url));

/** The round trip's stages as coordinators report them (services/coordinator/stages.ts). */
type StageReport = Record<string, { count: number; medianMs: number; p90Ms: number }>;
export interface StagesReported {
  roundTripStages?: StageReport;
  criticalPath?: StageReport;
}

/**
 * One row per stage, one column per label: the median over runs of each run's median (ms), and
 * the median of their 90th percentiles in brackets. `which`: every update's stages, or each
 * version's critical path. Runs from before the stages were reported are left out.
 */
export function stageTable(
  byLabel: Record<string, readonly StagesReported[]>,
  which: keyof StagesReported = 'roundTripStages',
): string {
  const labels = Object.keys(byLabel);
  const stages = mergeOrders(
    labels.flatMap((l) => byLabel[l]?.map((r) => Object.keys(r[which] ?? {})) ?? []),
  );
  if (stages.length === 0) return '(no run reported its stages)';
  const cell = (label: string, stage: string) => {
    const mine = (byLabel[label] ?? []).flatMap((r) => {
      const s = r[which]?.[stage];
      return s && s.count > 0 ? [s] : [];
    });
    if (mine.length === 0) return '–';
    return `${median(mine.map((s) => s.medianMs)).toFixed(0)} (${median(mine.map((s) => s.p90Ms)).toFixed(0)})`;
  };
  return table(
    ['stage, ms: median (p90)', ...labels],
    stages.map((stage) => [stage, ...labels.map((l) => cell(l, stage))]),
  );
}

/**
 * Every name in `orders` once, in the first list's order: a name first seen in a later list goes
 * right after the name before it there, else right before the next name there already placed,
 * else last (a stage a newer report added lands where it sits in it, not at the end).
 */
export function mergeOrders(orders: readonly (readonly string[])[]): string[] {
  const merged: string[] = [];
  for (const order of orders)
    order.forEach((name, i) => {
      if (merged.includes(name)) return;
      const before = i > 0 ? merged.indexOf(order[i - 1] as string) : -1;
      const next = order.slice(i + 1).find((n) => merged.includes(n));
      const at = before >= 0 ? before + 1 : next === undefined ? merged.length : merged.indexOf(next);
      merged.splice(at, 0, name);
    });
  return merged;
}

/** Markdown lines: `caption`, the stage table, then the critical-path table if any run reported one. */
export function stageSections(caption: string, byLabel: Record<string, readonly StagesReported[]>): string[] {
  const stages = [caption, '', stageTable(byLabel)];
  const runs = Object.values(byLabel).flat();
  if (runs.some((r) => r.roundTripStages && !('queued' in r.roundTripStages)))
    stages.push(
      '',
      "Runs from before the coordinator reported 'queued' (an update handed over by its consumer, waiting for the coordinator's lane) count that wait in 'in Kafka' and have no 'queued' (–).",
    );
  if (!runs.some((r) => r.criticalPath)) return stages;
  return [
    ...stages,
    '',
    "What each version waited for: the update that completed it (its last fold), from its base version's commit to its lease (leased), through its stages, to the step; and the time between two versions' commits. Under FedAvg the stages add up to the time between versions; under FedBuff the completing update can be leased before the previous version:",
    '',
    stageTable(byLabel, 'criticalPath'),
  ];
}

/** numpy's (OpenBLAS) and TensorFlow's threads per Python process, as sharedHostThreads gives ours. */
export function pythonThreads(processes: number): Record<string, string> {
  const share = sharedHostThreads(processes).TRIBUTARY_TF_THREADS;
  if (!share) return {};
  return {
    OPENBLAS_NUM_THREADS: share,
    OMP_NUM_THREADS: share,
    TF_NUM_INTRAOP_THREADS: share,
    TF_NUM_INTEROP_THREADS: '1',
  };
}
