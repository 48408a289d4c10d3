/**
 * startFederation: one coordinator and N workers of a task as real processes on a running stack,
 * and a handle to drive a test: wait for a version or a metric, read the job's topics, kill and
 * restart any process, and stop everything.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKafka } from '../kafka/client.js';
import { readTopicNow } from '../kafka/read.js';
import { topicName, type TopicKind } from '../kafka/topics.js';
import { serviceArgs } from '../run/processes.js';
import type { MessageName, MessageTypes } from '../wire/schemas.js';
import { AvroSerde } from '../wire/serde.js';
import type { ClientSecurity } from '../security/client.js';
import { provisionJob, type JobCredentials } from '../security/job.js';
import type { RunReport } from '../../services/coordinator/report.js';
import { ServiceProcess, waitFor } from './process.js';

export interface FederationOptions {
  /**
   * Where Kafka and the registry are (a Stack from startStack() will do). On a secured stack the
   * job is provisioned first and every process runs as its own principal (docs/security.md).
   */
  readonly stack: {
    readonly brokers: readonly string[];
    readonly registryUrl: string;
    readonly clientSecurity?: ClientSecurity;
    readonly security?: object | null;
  };
  /** The task file, or a directory holding task.ts. */
  readonly task: string;
  readonly workers?: number;
  /** Default: a unique id per call, so tests never share topics. */
  readonly jobId?: string;
  /** Overrides of the task's config (TRIBUTARY_TASK_CONFIG). */
  readonly taskConfig?: Readonly<Record<string, unknown>>;
  /** Extra coordinator environment (any TRIBUTARY_* variable; it wins over the task's defaults). */
  readonly coordinator?: Readonly<Record<string, string>>;
  /** Extra environment of worker i. */
  readonly worker?: (index: number) => Readonly<Record<string, string>>;
  /**
   * Where report.json (and a secured job's credentials) go. Default: a temporary directory, which
   * `stop()` removes (a test suite run again and again would otherwise fill the disk, and leave
   * job credentials behind) unless `keepRunDir` is set. A directory given here is never removed.
   */
  readonly runDir?: string;
  readonly keepRunDir?: boolean;
}

/** The message each readable topic holds (checkpoints are internal: not Avro). */
const MESSAGE_OF = {
  tasks: 'TrainTask',
  updates: 'ModelUpdate',
  models: 'GlobalModel',
  served: 'GlobalModel',
  checkins: 'WorkerCheckIn',
  events: 'CoordinatorEvent',
  rejected: 'RejectedUpdate',
  'evaluation-tasks': 'EvaluationTask',
  evaluations: 'EvaluationReport',
} as const satisfies Partial<Record<TopicKind, MessageName>>;
export type ReadableTopic = keyof typeof MESSAGE_OF;

export class Federation {
  readonly jobId: string;
  readonly runDir: string;
  coordinator: ServiceProcess;
  readonly workers: ServiceProcess[] = [];
  private readonly serde: AvroSerde;
  private readonly common: Record<string, string>;

  /** Whether runDir is a temporary directory made here, for stop() to remove. */
  private readonly ownsRunDir: boolean;

  constructor(
    private readonly options: FederationOptions,
    private readonly credentials: JobCredentials | null = null,
    madeRunDir = false,
  ) {
    this.ownsRunDir = madeRunDir || options.runDir === undefined;
    this.jobId = options.jobId ?? `test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    this.runDir = options.runDir ?? mkdtempSync(join(tmpdir(), `${this.jobId}-`));
    this.serde = AvroSerde.forUrl(options.stack.registryUrl, options.stack.clientSecurity?.registry ?? null);
    this.common = {
      KAFKA_BROKERS: options.stack.brokers.join(','),
      SCHEMA_REGISTRY_URL: options.stack.registryUrl,
      TRIBUTARY_JOB_ID: this.jobId,
      TRIBUTARY_TASK: resolve(options.task),
      ...(options.taskConfig ? { TRIBUTARY_TASK_CONFIG: JSON.stringify(options.taskConfig) } : {}),
    };
    this.coordinator = this.spawnCoordinator();
    for (let i = 0; i < (options.workers ?? 2); i++) this.workers.push(this.spawnWorker(i));
  }

  private spawnCoordinator(): ServiceProcess {
    return new ServiceProcess('coordinator', serviceArgs('coordinator'), {
      ...this.common,
      ...this.credentials?.coordinatorEnv,
      TRIBUTARY_RUN_DIR: this.runDir,
      TRIBUTARY_HTTP_PORT: '0',
      TRIBUTARY_TICK_MS: '100',
      ...this.options.coordinator,
    });
  }

  private spawnWorker(i: number): ServiceProcess {
    const count = this.options.workers ?? 2;
    return new ServiceProcess(`worker-${i}`, serviceArgs('worker'), {
      ...this.common,
      TRIBUTARY_WORKER_ID: `w${i}`,
      TRIBUTARY_SILO: `silo-${i}`,
      TRIBUTARY_SHARD_INDEX: String(i),
      TRIBUTARY_SHARD_COUNT: String(count),
      TRIBUTARY_CHECKIN_INTERVAL_MS: '1000',
      ...this.credentials?.workerEnv(`silo-${i}`, `w${i}`),
      ...this.options.worker?.(i),
    });
  }

  /** The coordinator's /status (undefined until it listens). */
  async status(): Promise<Record<string, unknown> | undefined> {
    const listening = this.coordinator.events('http-listening').at(-1);
    if (!listening) return undefined;
    const response = await fetch(`http://127.0.0.1:${String(listening.port)}/status`, {
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    return response?.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
  }

  /**
   * Once the coordinator has exited: its report, or an error if it died without one. Undefined
   * while it runs. (A run can reach its target and exit between two polls of its status.)
   */
  private ended(): RunReport | Error | undefined {
    if (this.coordinator.running) return undefined;
    const file = join(this.runDir, 'report.json');
    if (!existsSync(file))
      return new Error(
        `the coordinator exited early; its last output:\n${this.coordinator.output.slice(-3000)}`,
      );
    return JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  }

  /** Waits until the global model reaches `version` or later; returns the version seen. */
  async waitForVersion(version: number, options: { timeoutMs?: number } = {}): Promise<number> {
    const seen = await waitFor(
      async () => {
        const ended = this.ended();
        if (ended) return ended instanceof Error ? ended : ended.versions;
        const v = (await this.status())?.version as number | undefined;
        return v !== undefined && v >= version ? v : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 150_000, what: `version ${version} of job ${this.jobId}` },
    );
    if (seen instanceof Error) throw seen;
    if (seen < version) throw new Error(`the coordinator finished at version ${seen}, before ${version}`);
    return seen;
  }

  /**
   * Waits until the latest central evaluation's `metric` (accuracy, loss, or a task metric)
   * satisfies `accept`; returns its value. If the run has already ended, any evaluation in its
   * report that satisfied `accept` counts (the newest such one is returned).
   */
  async waitForMetric(
    metric: string,
    accept: (value: number) => boolean,
    options: { timeoutMs?: number } = {},
  ): Promise<number> {
    const seen = await waitFor(
      async (): Promise<{ value: number | undefined; final: boolean } | Error | undefined> => {
        const ended = this.ended();
        if (ended instanceof Error) return ended;
        if (ended) {
          // A run that stops at its target still evaluates the version waiting behind the one that
          // met it, so the curve's last point may fall short; the newest accepted point counts.
          const values = ended.accuracyCurve.map((p) => (metric === 'loss' ? p.loss : p.metrics[metric]));
          const accepted = values.findLast((v) => v !== undefined && accept(v));
          return { value: accepted ?? values.at(-1), final: true };
        }
        const evaluation = (await this.status())?.evaluation as Record<string, number> | null | undefined;
        const value = evaluation?.[metric];
        return value !== undefined && accept(value) ? { value, final: false } : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 150_000, what: `${metric} of job ${this.jobId}` },
    );
    if (seen instanceof Error) throw seen;
    if (seen.value === undefined || !accept(seen.value))
      throw new Error(
        `the coordinator finished with ${metric} ${String(seen.value)}, which was not accepted`,
      );
    return seen.value;
  }

  /** Every committed record of one of the job's topics, decoded. */
  async readTopic<K extends ReadableTopic>(kind: K): Promise<MessageTypes[(typeof MESSAGE_OF)[K]][]> {
    const kafka = createKafka({
      brokers: [...this.options.stack.brokers],
      clientId: 'tributary-testing',
      security: this.options.stack.clientSecurity?.kafka,
    });
    const records = await readTopicNow(kafka, topicName(this.jobId, kind));
    const name: (typeof MESSAGE_OF)[K] = MESSAGE_OF[kind];
    return Promise.all(records.map((r) => this.serde.decode(name, r.message.value)));
  }

  async killWorker(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.workers[index]?.kill(signal);
  }

  async restartWorker(index: number): Promise<ServiceProcess> {
    await this.killWorker(index);
    const worker = this.spawnWorker(index);
    this.workers[index] = worker;
    return worker;
  }

  async killCoordinator(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.coordinator.kill(signal);
  }

  /** A new coordinator process for the same job: it recovers from the last checkpoint. */
  async restartCoordinator(): Promise<ServiceProcess> {
    await this.killCoordinator();
    this.coordinator = this.spawnCoordinator();
    return this.coordinator;
  }

  /** Waits for the coordinator to stop by itself (a stop condition) and returns its report. */
  async finished(options: { timeoutMs?: number } = {}): Promise<RunReport> {
    const code = await Promise.race([
      this.coordinator.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), options.timeoutMs ?? 300_000).unref()),
    ]);
    const file = join(this.runDir, 'report.json');
    if (code !== 0 || !existsSync(file))
      throw new Error(
        `the coordinator ended with ${code}; last output:\n${this.coordinator.output.slice(-3000)}`,
      );
    return JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL after 10 s), then removes the run directory if it is
   * a temporary one made here (options `runDir`, `keepRunDir`).
   */
  async stop(): Promise<void> {
    const all = [this.coordinator, ...this.workers].filter((p) => p.running);
    await Promise.all(
      all.map(async (p) => {
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
        await p.kill('SIGTERM');
        clearTimeout(timer);
      }),
    );
    if (this.ownsRunDir && !this.options.keepRunDir) rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Starts a federation of `task` on `stack`; returns at once (use the handle's wait methods). */
export async function startFederation(options: FederationOptions): Promise<Federation> {
  const { stack } = options;
  if (!stack.security || !stack.clientSecurity) return new Federation(options);
  const jobId = options.jobId ?? `test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), `${jobId}-`));
  const silos = Array.from({ length: options.workers ?? 2 }, (_, i) => `silo-${i}`);
  const credentials = await provisionJob(
    { brokers: stack.brokers, registryUrl: stack.registryUrl, clientSecurity: stack.clientSecurity },
    jobId,
    silos,
    join(runDir, 'credentials'),
  );
  return new Federation({ ...options, jobId, runDir }, credentials, options.runDir === undefined);
}
