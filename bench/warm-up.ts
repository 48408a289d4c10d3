/**
 * What the worker's warm-up (services/worker/warm-up.ts) buys: fresh processes, each warming up
 * with a number of steps (0: none) and then training tasks of one MNIST shard epoch as a worker
 * does; the CPU time of the warm-up and of each task. Budgets alternate within each repeat, so the
 * machine's drift falls on all of them alike.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeLineChart } from '../lib/chart.js';
import { nodeArgs, PACKAGE_ROOT } from '../lib/run/processes.js';
import { machine, median, RESULTS_DIR, table, writeResult } from './common.js';

const BUDGETS = (process.env.BENCH_WARM_UP_BUDGETS ?? '0,100,300,1000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_WARM_UP_REPEATS ?? 3);
const TASKS = Number(process.env.BENCH_WARM_UP_TASKS ?? 40);

interface ProcessRun {
  readonly budget: number;
  readonly steps: number;
  readonly warmUpCpuMs: number;
  readonly warmUpMs: number;
  readonly backend: string;
  readonly samples: number;
  /** CPU ms of each task, in order. */
  readonly tasks: number[];
}

function runProcess(budget: number): Promise<ProcessRun> {
  const child = spawn(process.execPath, nodeArgs('bench/warm-up/task-cpu.ts'), {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, BENCH_WARM_UP_STEPS: String(budget), BENCH_WARM_UP_TASKS: String(TASKS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`warm-up child (${budget} steps) exited ${code}: ${err.slice(-2000)}`));
      resolve({ budget, ...(JSON.parse(line) as Omit<ProcessRun, 'budget'>) });
    });
  });
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const mean = (values: readonly number[]): number => sum(values) / Math.max(1, values.length);

export async function runWarmUp(): Promise<void> {
  const runs: ProcessRun[] = [];
  for (let repeat = 1; repeat <= REPEATS; repeat++)
    for (const budget of BUDGETS) {
      const run = await runProcess(budget);
      runs.push(run);
      console.log(
        JSON.stringify({
          bench: 'warm-up',
          repeat,
          budget,
          warmUpCpuMs: Math.round(run.warmUpCpuMs),
          firstTaskCpuMs: Math.round(run.tasks[0] ?? NaN),
          tasksCpuMs: Math.round(sum(run.tasks)),
        }),
      );
    }
  // Per budget, each task's median over repeats, and the figures a reader compares.
  const summary = BUDGETS.map((budget) => {
    const of = runs.filter((r) => r.budget === budget);
    const perTask = Array.from({ length: TASKS }, (_, t) => median(of.map((r) => r.tasks[t] ?? NaN)));
    const span = (from: number, to: number) => mean(perTask.slice(from - 1, to));
    const firstTen = median(of.map((r) => r.warmUpCpuMs + sum(r.tasks.slice(0, 10))));
    return {
      budget,
      warmUpCpuMs: median(of.map((r) => r.warmUpCpuMs)),
      warmUpMs: median(of.map((r) => r.warmUpMs)),
      perTask,
      first: perTask[0] ?? NaN,
      tasks2to5: span(2, 5),
      tasks6to20: span(6, 20),
      tasks21toEnd: span(21, TASKS),
      tasksCpuMs: median(of.map((r) => sum(r.tasks))),
      withWarmUpFirstTen: firstTen,
      withWarmUpAll: median(of.map((r) => r.warmUpCpuMs + sum(r.tasks))),
    };
  });
  const cold = summary.find((s) => s.budget === 0);
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—');
  const samples = runs[0]?.samples ?? 0;
  const markdown = [
    '# The worker’s warm-up: CPU of a fresh process’s first tasks',
    '',
    `Machine: ${JSON.stringify(machine())}. Backend ${runs[0]?.backend ?? '?'}, one TensorFlow thread. Each row: ${REPEATS} fresh processes (budgets alternating), each warming up with that many steps (services/worker/warm-up.ts, batch 32) and then training ${TASKS} tasks of one epoch on MNIST shard 3 of 10 (Dirichlet 0.5, ${samples} samples, ${Math.ceil(samples / 32)} batches), as a worker does; CPU ms, medians over the processes.`,
    '',
    table(
      [
        'warm-up steps',
        'warm-up CPU ms',
        'warm-up wall ms',
        'first task',
        'tasks 2–5',
        'tasks 6–20',
        `tasks 21–${TASKS}`,
        'warm-up + first 10 tasks',
        `all ${TASKS} tasks`,
        `warm-up + all ${TASKS}`,
      ],
      summary.map((s) => [
        s.budget,
        fmt(s.warmUpCpuMs),
        fmt(s.warmUpMs),
        fmt(s.first),
        fmt(s.tasks2to5),
        fmt(s.tasks6to20),
        fmt(s.tasks21toEnd),
        fmt(s.withWarmUpFirstTen),
        fmt(s.tasksCpuMs),
        fmt(s.withWarmUpAll),
      ]),
    ),
    '',
    ...(cold
      ? summary
          .filter((s) => s.budget > 0)
          .map(
            (s) =>
              `- ${s.budget} steps: the first task ${(cold.first / s.first).toFixed(1)}× cheaper (${fmt(s.first)} against ${fmt(cold.first)} ms), the first 10 tasks ${fmt(sum(cold.perTask.slice(0, 10)) - sum(s.perTask.slice(0, 10)))} ms cheaper in all, for ${fmt(s.warmUpCpuMs)} ms of warm-up before check-in.`,
          )
      : []),
    '',
    'Chart: `bench/results/warm-up.png` (and `warm-up.html`).',
    '',
  ].join('\n');
  const files = writeResult(
    'warm-up',
    { bench: 'warm-up', machine: machine(), budgets: BUDGETS, repeats: REPEATS, tasks: TASKS, summary, runs },
    markdown,
  );
  writeLineChart(join(RESULTS_DIR, 'warm-up'), {
    title: 'CPU time of each task in a fresh worker process, by warm-up',
    xLabel: 'task',
    yLabel: 'CPU ms (median over processes)',
    yMin: 0,
    legend: 'top-left',
    series: summary.map((s) => ({
      label: s.budget === 0 ? 'no warm-up' : `${s.budget} warm-up steps`,
      points: s.perTask.map((y, t) => ({ x: t + 1, y })),
    })),
    notes: summary.map(
      (s) =>
        `${s.budget === 0 ? 'No warm-up' : `${s.budget} steps`}: warm-up ${fmt(s.warmUpCpuMs)} ms, first task ${fmt(s.first)} ms, tasks 21–${TASKS} ${fmt(s.tasks21toEnd)} ms each.`,
    ),
  });
  console.log(JSON.stringify({ bench: 'warm-up', written: files }));
}
