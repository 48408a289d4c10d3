/**
 * Flower side by side: Flower's FedAvg (flwr, pinned in bench/flower/requirements.txt, in its own
 * virtual environment) on exactly the task of the time-to-accuracy benchmark. What is shared, for
 * fairness: the MNIST split and the Dirichlet(0.5) shards (exported from lib/ml, not re-derived),
 * the initial weights (exported), the MLP shape, local training (1 epoch, batch 32, SGD lr 0.1),
 * 10 clients with 4 training at once, and the delay model (log-normal σ 0.6, one in ten 10×
 * slower), the wall-clock budget and the machine. What differs: Flower clients train with numpy,
 * Tributary's workers with TF.js (their samples/s are reported), and Flower's transport is gRPC.
 * With BENCH_FLOWER_ALTERNATE, Tributary's runs take turns with Flower's, seed by seed. Flower's
 * cohorts are Tributary's (BENCH_FLOWER_COHORTS=rotation, the default) or seeded draws (random).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../infra/stack/ports.js';
import {
  BUDGET_SECONDS,
  DELAY_BASIS,
  DEVICE_MS_PER_SAMPLE,
  type Engine,
  CONCURRENCY as PER_ROUND,
  RESULT_NAMES,
  resultName,
  type Run,
  SEEDS,
  startBenchStack,
  STRATEGIES,
  type Strategy,
  timeToAccuracyRunner,
  WORKERS as CLIENTS,
} from './tta.js';
import { BENCH_DIR, machine, pythonThreads } from './common.js';
import { exportMnistTask } from './exported-task.js';
import { type Cohorts, writeFlowerComparison, type FlowerRunResult } from './flower/report.js';
import { trainingStart, type RoundPoint } from './flower/round-points.js';
import { CpuMeter, cpuPerUpdate, type CpuSnapshot, type RunCpu } from './cpu.js';
import { ensureVenv, PYTHON } from './flower/venv.js';
import { roundOrder } from './statistics.js';

export interface FlowerRun {
  readonly seed: number;
  readonly dataDir: string;
  readonly clients: number;
  readonly perRound: number;
  readonly budgetSeconds: number;
  /** More arguments of bench/flower/run.py (--model cnn, --lr, --local-steps, --slow-every). */
  readonly extraArgs?: readonly string[];
}

/**
 * How Flower chooses each round's clients (BENCH_FLOWER_COHORTS, bench/flower/run.py): `rotation`
 * as Tributary's coordinator leases (least recently chosen, ties by index), so that both systems
 * train the same clients in the same rounds; `random`, drawn with the seed.
 */
function cohortsOf(value: string | undefined): Cohorts {
  if (value === undefined || value === '' || value === 'rotation') return 'rotation';
  if (value === 'random') return 'random';
  throw new Error(`BENCH_FLOWER_COHORTS: rotation or random; got "${value}"`);
}

/** One Flower run until its own clock passes the budget; its evaluation curve. */
export async function runFlower(run: FlowerRun): Promise<RoundPoint[]> {
  const { seed, dataDir } = run;
  const curve = join(dataDir, 'curve.jsonl');
  rmSync(curve, { force: true });
  const port = await freePort();
  const child = spawn(
    PYTHON,
    [
      join(BENCH_DIR, 'flower', 'run.py'),
      '--data',
      dataDir,
      '--seed',
      String(seed),
      '--clients',
      String(run.clients),
      '--per-round',
      String(run.perRound),
      '--address',
      `127.0.0.1:${port}`,
      '--curve',
      curve,
      ...(run.extraArgs ?? []),
    ],
    {
      // The same share of the cores per process as Tributary's (lib/run/federation.ts).
      env: { ...process.env, ...pythonThreads(run.clients + 1) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // The same budget as a Tributary run, counted from the server's first round (its own clock).
  const deadline = Date.now() + (run.budgetSeconds + 60) * 1000;
  while (Date.now() < deadline) {
    const points = existsSync(curve) ? readCurve(curve) : [];
    if ((points.at(-1)?.seconds ?? 0) >= run.budgetSeconds) break;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    process.kill(-(child.pid as number), 'SIGKILL'); // server and its forked clients
  } catch {
    // already gone
  }
  await exited;
  const points = existsSync(curve) ? readCurve(curve) : [];
  if (points.length === 0) throw new Error(`Flower produced no rounds:\n${output.slice(-3000)}`);
  return points.filter((p) => p.seconds <= run.budgetSeconds);
}

/**
 * A Flower run's CPU per update, from a second after its first round's clients were chosen to its
 * last evaluation, as bench tta measures Tributary's (bench/cpu.ts); every round trains PER_ROUND.
 */
function cpuOfFlower(snapshots: readonly CpuSnapshot[], points: readonly RoundPoint[]): RunCpu | null {
  const zero = points[0]?.startedAtMs;
  const last = points.at(-1)?.seconds;
  if (zero === undefined || last === undefined) return null;
  const rounds = points.map((p) => ({ seconds: p.seconds, count: p.round * PER_ROUND }));
  return cpuPerUpdate(snapshots, zero, trainingStart(points) + 1, last, rounds);
}

function readCurve(file: string): RoundPoint[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RoundPoint);
}

/**
 * Which Tributary engines run in turn with Flower, seed by seed (BENCH_FLOWER_ALTERNATE: `numpy`,
 * `tfjs`, or both, comma-separated). Empty: Flower alone, compared with whatever tta and tta-numpy
 * results were written before, at another time.
 */
function enginesToAlternate(value: string | undefined): Engine[] {
  const engines = (value ?? '').split(',').filter(Boolean);
  for (const e of engines)
    if (e !== 'numpy' && e !== 'tfjs')
      throw new Error(`BENCH_FLOWER_ALTERNATE: numpy, tfjs or both, comma-separated; got "${e}"`);
  return [...new Set(engines)] as Engine[];
}

export async function runFlowerComparison(): Promise<void> {
  const flwrVersion = ensureVenv();
  const alternate = enginesToAlternate(process.env.BENCH_FLOWER_ALTERNATE);
  const cohorts = cohortsOf(process.env.BENCH_FLOWER_COHORTS);
  const runs: FlowerRunResult[] = [];
  const runFlowerSeed = async (seed: number): Promise<void> => {
    const dataDir = await exportMnistTask(seed, CLIENTS);
    const meter = new CpuMeter().start();
    const points = await runFlower({
      seed,
      dataDir,
      clients: CLIENTS,
      perRound: PER_ROUND,
      budgetSeconds: BUDGET_SECONDS,
      extraArgs: [
        ...['--delay-basis', DELAY_BASIS, '--device-ms-per-sample', String(DEVICE_MS_PER_SAMPLE)],
        ...['--cohorts', cohorts],
      ],
    });
    const cpu = cpuOfFlower(meter.stop(), points);
    runs.push({ seed, points, cpu });
    const final = points.at(-1)?.accuracy;
    const stolenCores = cpu?.stolenCores;
    console.log(JSON.stringify({ bench: 'flower', seed, rounds: points.length, final, stolenCores }));
  };
  if (alternate.length === 0) {
    for (const seed of SEEDS) await runFlowerSeed(seed);
  } else {
    // Tributary's stack runs throughout, idle while Flower runs (its CPU shows in Flower's rows).
    const stack = await startBenchStack('flower');
    const tributary = alternate.map((engine) => ({
      runner: timeToAccuracyRunner(stack, engine, resultName(RESULT_NAMES[engine])),
      runs: [] as Run[],
    }));
    try {
      await tributary[0]?.runner.warmUp(); // the broker's, which every engine's runs share
      for (const [i, seed] of SEEDS.entries()) {
        const systems = [
          () => runFlowerSeed(seed),
          ...tributary.flatMap(({ runner, runs: mine }) =>
            (Object.keys(STRATEGIES) as Strategy[]).map(
              (strategy) => async () => void mine.push(await runner.measure(strategy, seed)),
            ),
          ),
        ];
        for (const runSystem of roundOrder(i, systems)) await runSystem();
      }
    } finally {
      await stack.stop();
    }
    for (const { runner, runs: mine } of tributary) runner.write(mine, `Flower ${flwrVersion}`);
  }
  writeFlowerComparison(runs, {
    machine: machine(),
    flwrVersion,
    seeds: SEEDS,
    clients: CLIENTS,
    budgetSeconds: BUDGET_SECONDS,
    delayBasis: DELAY_BASIS,
    deviceMsPerSample: DELAY_BASIS === 'device' ? DEVICE_MS_PER_SAMPLE : null,
    alternatedWith: alternate.length > 0 ? alternate : null,
    cohorts,
  });
}
