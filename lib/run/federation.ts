/**
 * One federated training run as real processes: a coordinator and N workers talking only through
 * Kafka, on a stack that is already up. Used by `tributary run` (and so `npm start`) and the
 * benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../infra/stack/ports.js';
import type { RunReport } from '../../services/coordinator/report.js';
import { threadsPerProcess } from '../ml/backend.js';
import { parentWatchEnv } from './parent.js';
import { logChildOutput, serviceArgs } from './processes.js';
import { provisionJob, type SecuredCluster } from '../security/job.js';

export interface FederationOptions {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  readonly runId: string;
  readonly jobId: string;
  readonly runDir: string;
  /** The task file or directory, for every process. */
  readonly task: string;
  /** The task's config overrides (TRIBUTARY_TASK_CONFIG), for every process. */
  readonly taskConfig?: Readonly<Record<string, unknown>>;
  readonly workers: number;
  readonly coordinatorEnv: Record<string, string>;
  readonly workerEnv: (index: number) => Record<string, string>;
  /**
   * Another worker program than Tributary's TypeScript worker (e.g. the protocol's Python worker,
   * examples/python-worker): the command and arguments of worker `index`. It gets the environment a
   * TypeScript worker would (brokers, registry, job, worker id, silo, `workerEnv`).
   */
  readonly workerCommand?: (index: number) => { readonly command: string; readonly args: readonly string[] };
  /** Called about once a second with the coordinator's /status. */
  readonly onStatus?: (status: Record<string, number | null>) => void;
  /**
   * A secured cluster and its administrator: the job is provisioned there first (silo `site-<i>`
   * per worker) and every process runs as its own principal, workers signing their updates.
   */
  readonly secureWith?: SecuredCluster | null;
}

export interface FederationRun {
  readonly report: RunReport;
  readonly logDir: string;
  /** When the processes were spawned (epoch ms), and seconds from then to the coordinator's exit. */
  readonly startedAtMs: number;
  readonly processSeconds: number;
}

/** One in ten workers 10× slower, the rest log-normal (σ = 0.6): a heavy-tailed fleet. */
export function heterogeneousSpeed(index: number, slowEvery = 10): Record<string, string> {
  if (index % slowEvery === slowEvery - 1)
    return { TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '10' };
  return { TRIBUTARY_DELAY: 'log-normal', TRIBUTARY_DELAY_SIGMA: '0.6', TRIBUTARY_DELAY_SCALE: '1' };
}

/** The benchmark fleet (tta, guard): Dirichlet(0.5) shards of one data seed, heavy-tailed speeds. */
export function benchmarkFleet(seed: number): (index: number) => Record<string, string> {
  return (i) => ({
    TRIBUTARY_PARTITION: 'dirichlet',
    TRIBUTARY_DIRICHLET_ALPHA: '0.5',
    TRIBUTARY_SEED: String(seed * 1000 + i),
    ...heterogeneousSpeed(i, 10),
  });
}

/**
 * The coordinator side of a benchmark run: the same seed for model and (through the MNIST task's
 * config, `{ dataSeed: seed }`) data, a wall-clock budget and no accuracy target.
 */
export function benchmarkRun(seed: number, budgetSeconds: number): Record<string, string> {
  return {
    TRIBUTARY_MAX_WALL_SECONDS: String(budgetSeconds),
    TRIBUTARY_TARGET_ACCURACY: '0',
    TRIBUTARY_MODEL_SEED: String(seed),
    TRIBUTARY_TASK_DEADLINE_MS: '120000',
  };
}

/**
 * TRIBUTARY_TF_THREADS for `processes` TensorFlow processes on this host, unless the environment
 * already sizes TensorFlow's threads (then it is left to).
 */
export function sharedHostThreads(
  processes: number,
  env: NodeJS.ProcessEnv = process.env,
  cores?: number,
): Record<string, string> {
  if (env.TRIBUTARY_TF_THREADS || env.TF_NUM_INTRAOP_THREADS) return {};
  return { TRIBUTARY_TF_THREADS: String(threadsPerProcess(processes, cores)) };
}

export class Federation {
  private readonly children: ChildProcess[] = [];

  constructor(private readonly options: FederationOptions) {}

  private launch(
    name: string,
    program: { readonly command: string; readonly args: readonly string[] },
    env: Record<string, string>,
    logDir: string,
  ): ChildProcess {
    const child = spawn(program.command, program.args, {
      // The parent watch (./parent.ts): a run killed outright does not leave its processes running.
      env: { ...process.env, ...parentWatchEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    void logChildOutput(child, join(logDir, `${name}.log`));
    this.children.push(child);
    return child;
  }

  async run(): Promise<FederationRun> {
    const o = this.options;
    const logDir = join(o.runDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const common = {
      KAFKA_BROKERS: o.brokers.join(','),
      SCHEMA_REGISTRY_URL: o.registryUrl,
      TRIBUTARY_JOB_ID: o.jobId,
      TRIBUTARY_TASK: o.task,
      ...(o.taskConfig ? { TRIBUTARY_TASK_CONFIG: JSON.stringify(o.taskConfig) } : {}),
    };
    const credentials = o.secureWith
      ? await provisionJob(
          o.secureWith,
          o.jobId,
          Array.from({ length: o.workers }, (_, i) => `site-${i}`),
          join(o.runDir, 'credentials'),
        )
      : null;
    const httpPort = await freePort();
    // The processes share this host's cores: each gets its share for TensorFlow, not a pool of all.
    const threads = sharedHostThreads(o.workers + 1);
    const started = Date.now();
    const coordinator = this.launch(
      'coordinator',
      { command: process.execPath, args: serviceArgs('coordinator') },
      {
        ...common,
        TRIBUTARY_RUN_ID: o.runId,
        TRIBUTARY_RUN_DIR: o.runDir,
        TRIBUTARY_HTTP_PORT: String(httpPort),
        ...threads,
        ...o.coordinatorEnv,
        ...credentials?.coordinatorEnv,
      },
      logDir,
    );
    for (let i = 0; i < o.workers; i++) {
      this.launch(
        `worker-${i}`,
        o.workerCommand?.(i) ?? { command: process.execPath, args: serviceArgs('worker') },
        {
          ...common,
          TRIBUTARY_WORKER_ID: `worker-${i}`,
          TRIBUTARY_SILO: `site-${i}`,
          TRIBUTARY_SHARD_INDEX: String(i),
          TRIBUTARY_SHARD_COUNT: String(o.workers),
          TRIBUTARY_SEED: String(1000 + i),
          ...threads,
          ...o.workerEnv(i),
          ...credentials?.workerEnv(`site-${i}`, `worker-${i}`),
        },
        logDir,
      );
    }
    const exited = new Promise<number | null>((resolve) => coordinator.once('exit', resolve));
    const poll = setInterval(() => {
      if (!o.onStatus) return;
      void fetch(`http://127.0.0.1:${httpPort}/status`, { signal: AbortSignal.timeout(1000) })
        .then((r) => (r.ok ? (r.json() as Promise<Record<string, number | null>>) : undefined))
        .then((s) => s && o.onStatus?.(s))
        .catch(() => undefined);
    }, 1000);
    const code = await exited;
    clearInterval(poll);
    const processSeconds = (Date.now() - started) / 1000;
    await this.stop();
    const reportFile = join(o.runDir, 'report.json');
    if (code !== 0 || !existsSync(reportFile)) {
      const tail = readFileSync(join(logDir, 'coordinator.log'), 'utf8').split('\n').slice(-15);
      throw new Error(
        `coordinator exited with ${code}; last lines of ${join(logDir, 'coordinator.log')}:\n` +
          tail.map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line)).join('\n'),
      );
    }
    return {
      report: JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport,
      logDir,
      startedAtMs: started,
      processSeconds,
    };
  }

  /** SIGTERM to every process still running, then waits for them. */
  async stop(): Promise<void> {
    const alive = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const child of alive) child.kill('SIGTERM');
    await Promise.all(alive.map((c) => new Promise((resolve) => c.once('exit', resolve))));
  }
}
