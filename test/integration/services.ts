/**
 * Harness for tests that run the real services as separate processes: spawn, capture logs, wait for
 * conditions, and always kill what was started (afterEach), even when a test fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgs } from '../../lib/run/processes.js';
import { ServiceProcess } from '../../lib/testing/process.js';
import { MNIST_TASK } from '../support/tasks.js';
import { createKafka } from '../../lib/kafka/client.js';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { uniqueName, waitFor } from './helpers.js';

export type Service = ServiceProcess;

const running = new Set<Service>();
/** Run directories made by jobEnv, removed with the processes that wrote there. */
const runDirs = new Set<string>();

export function spawnService(
  name: string,
  script: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Service {
  const service = new ServiceProcess(name, [...nodeArgs(script), ...args], env);
  running.add(service);
  void service.exited.then(() => running.delete(service));
  return service;
}

/**
 * Kills every service still running (SIGKILL: tests want no lingering processes), and removes the
 * run directories jobEnv made.
 */
export async function killAll(): Promise<void> {
  const all = [...running];
  // TRIBUTARY_IT_LOG_DIR keeps each service's output for a look after the run.
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir) for (const s of all) writeFileSync(join(dir, `${s.name}-${s.child.pid}.log`), s.output);
  await Promise.all(all.map((s) => s.kill('SIGKILL')));
  for (const runDir of runDirs) rmSync(runDir, { recursive: true, force: true });
  runDirs.clear();
}

export interface JobEnv {
  readonly jobId: string;
  readonly runDir: string;
  readonly base: Record<string, string>;
}

export function jobEnv(brokers: string[], registryUrl: string): JobEnv {
  const jobId = uniqueName('it');
  const runDir = mkdtempSync(join(tmpdir(), `${jobId}-`));
  runDirs.add(runDir);
  return {
    jobId,
    runDir,
    base: {
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      TRIBUTARY_JOB_ID: jobId,
      TRIBUTARY_TASK: MNIST_TASK,
    },
  };
}

/** Workers w<first> … w<first + count − 1>, each holding shard i of `shards` (default: count). */
export function startWorkers(
  job: JobEnv,
  count: number,
  extra: (index: number) => Record<string, string> = () => ({}),
  options: { first?: number; shards?: number } = {},
): Service[] {
  const first = options.first ?? 0;
  return Array.from({ length: count }, (_, n) => first + n).map((i) =>
    spawnService(`worker-${i}`, 'services/worker/main.ts', {
      ...job.base,
      TRIBUTARY_WORKER_ID: `w${i}`,
      TRIBUTARY_SHARD_INDEX: String(i),
      TRIBUTARY_SHARD_COUNT: String(options.shards ?? count),
      TRIBUTARY_PARTITION: 'iid',
      TRIBUTARY_CHECKIN_INTERVAL_MS: '1000',
      ...extra(i),
    }),
  );
}

export function startCoordinator(job: JobEnv, extra: Record<string, string>): Service {
  return spawnService('coordinator', 'services/coordinator/main.ts', {
    ...job.base,
    TRIBUTARY_RUN_DIR: job.runDir,
    TRIBUTARY_TICK_MS: '100',
    // The MNIST task's own stop conditions are for `npm start`; a test sets its own.
    TRIBUTARY_TARGET_ACCURACY: '0',
    TRIBUTARY_MAX_WALL_SECONDS: '0',
    ...extra,
  });
}

/** Reads every committed record of a topic from the beginning until `done` says enough, or it goes quiet. */
export async function readTopic<T>(
  brokers: string[],
  topic: string,
  decode: (value: Buffer | null, key: string | undefined) => Promise<T>,
  options: { done?: (items: T[]) => boolean; quietMs?: number; timeoutMs?: number } = {},
): Promise<T[]> {
  const kafka = createKafka({ brokers, clientId: 'it-reader' });
  const consumer = kafka.consumer({
    groupId: uniqueName('it-reader'),
    readUncommitted: false,
    ...LARGE_RECORD_CONSUMER,
  });
  const items: T[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      items.push(await decode(message.value, message.key?.toString()));
      last = Date.now();
    },
  });
  try {
    await waitFor(
      () =>
        (options.done
          ? options.done(items)
          : items.length > 0 && Date.now() - last > (options.quietMs ?? 2000)) || undefined,
      { timeoutMs: options.timeoutMs ?? 60_000, what: `records on ${topic}` },
    );
  } finally {
    await consumer.disconnect();
  }
  return items;
}

/** Parses the JSON log lines of a service, keeping those with the given event name. */
export function logEvents(service: Service, event: string): Record<string, unknown>[] {
  return service.events(event);
}

export async function status(service: Service): Promise<Record<string, unknown> | undefined> {
  const listening = logEvents(service, 'http-listening')[0];
  if (!listening) return undefined;
  const response = await fetch(`http://127.0.0.1:${String(listening.port)}/status`).catch(() => undefined);
  return response?.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
}

/** Waits until the coordinator's /status says `wanted` or later; returns the version seen. */
export async function versionAtLeast(service: Service, wanted: number, timeoutMs = 150_000): Promise<number> {
  return waitFor(
    async () => {
      const v = (await status(service))?.version as number | undefined;
      return v !== undefined && v >= wanted ? v : undefined;
    },
    { timeoutMs, what: `version ${wanted}` },
  );
}
