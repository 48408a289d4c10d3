/**
 * `npm start`: the main job. Brings up the stack (an existing cluster, containers or child JVMs),
 * then one coordinator and N workers as separate processes that talk only through Kafka, training
 * the MNIST MLP asynchronously (FedBuff) on a Dirichlet(α) split with heterogeneous worker speeds.
 * Shows live progress, stops at the target accuracy, prints a summary and writes
 * runs/<run-id>/report.json and runs/<run-id>/accuracy.html (logs in runs/<run-id>/logs/).
 *
 * Knobs (environment): TRIBUTARY_WORKERS (8), TRIBUTARY_TARGET_ACCURACY (0.90),
 * TRIBUTARY_MAX_WALL_SECONDS (300), TRIBUTARY_STRATEGY (fedbuff | fedavg), and every coordinator or
 * worker variable, passed through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/stack/artifacts.js';
import { startStack, type Stack } from '../infra/stack/index.js';
import { freePort } from '../infra/stack/ports.js';
import type { RunReport } from '../services/coordinator/report.js';

const env = process.env;
const workers = Number(env.TRIBUTARY_WORKERS ?? 8);
const target = env.TRIBUTARY_TARGET_ACCURACY ?? '0.90';
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const runId = env.TRIBUTARY_RUN_ID ?? `mnist-${stamp}`;
const jobId = env.TRIBUTARY_JOB_ID ?? runId.replace(/[^A-Za-z0-9_-]/g, '-');
const runDir = join(PROJECT_ROOT, 'runs', runId);
const logDir = join(runDir, 'logs');
const interactive = process.stdout.isTTY === true;

const say = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), component: 'train', event, ...fields }));

/** Per-worker speed: log-normal multipliers, and one worker in eight 10× slower (a struggling site). */
function workerSpeedEnv(index: number): Record<string, string> {
  if (index % 8 === 7) return { TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '10' };
  return {
    TRIBUTARY_DELAY: 'log-normal',
    TRIBUTARY_DELAY_SIGMA: '0.6',
    TRIBUTARY_DELAY_SCALE: String(1 + (index % 4) * 0.5),
  };
}

const children: ChildProcess[] = [];
function launch(name: string, script: string, extraEnv: Record<string, string>): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: PROJECT_ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  children.push(child);
  return child;
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

async function main(): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  say('starting', { runId, jobId, workers, target: Number(target), runDir });
  // Set once the stack is up; the Ctrl-C handler, installed before, stops whatever exists by then.
  const started: { stack?: Stack } = {};
  let stopping = false;
  const stopAll = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    );
    await started.stack?.stop();
  };
  process.on('SIGINT', () => {
    if (stopping) return;
    stopping = true;
    say('interrupted');
    void stopAll().then(() => process.exit(130));
  });

  const stack = await startStack({ onProgress: (message) => say('stack', { message }) });
  started.stack = stack;
  say('stack-ready', {
    mode: stack.mode,
    brokers: stack.brokers.join(','),
    registryUrl: stack.registryUrl,
    startupSeconds: stack.startupMs / 1000,
  });
  const startedAt = Date.now();
  const common = {
    KAFKA_BROKERS: stack.brokers.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    TRIBUTARY_JOB_ID: jobId,
  };
  const httpPort = await freePort();
  const coordinator = launch('coordinator', 'services/coordinator/main.ts', {
    ...common,
    TRIBUTARY_RUN_ID: runId,
    TRIBUTARY_RUN_DIR: runDir,
    TRIBUTARY_HTTP_PORT: String(httpPort),
    TRIBUTARY_TARGET_ACCURACY: target,
    TRIBUTARY_MAX_WALL_SECONDS: env.TRIBUTARY_MAX_WALL_SECONDS ?? '300',
    TRIBUTARY_CONCURRENCY: env.TRIBUTARY_CONCURRENCY ?? '4',
    TRIBUTARY_BUFFER_K: env.TRIBUTARY_BUFFER_K ?? '2',
    TRIBUTARY_TASK_DEADLINE_MS: env.TRIBUTARY_TASK_DEADLINE_MS ?? '30000',
  });
  for (let i = 0; i < workers; i++) {
    launch(`worker-${i}`, 'services/worker/main.ts', {
      ...common,
      TRIBUTARY_WORKER_ID: `worker-${i}`,
      TRIBUTARY_SILO: `site-${String.fromCharCode(97 + (i % 26))}`,
      TRIBUTARY_SHARD_INDEX: String(i),
      TRIBUTARY_SHARD_COUNT: String(workers),
      TRIBUTARY_PARTITION: env.TRIBUTARY_PARTITION ?? 'dirichlet',
      TRIBUTARY_DIRICHLET_ALPHA: env.TRIBUTARY_DIRICHLET_ALPHA ?? '0.5',
      TRIBUTARY_SEED: String(1000 + i),
      ...workerSpeedEnv(i),
    });
  }

  const exited = new Promise<number | null>((resolve) => coordinator.once('exit', resolve));
  let lastPrinted = 0;
  const progress = setInterval(() => {
    void fetch(`http://127.0.0.1:${httpPort}/status`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.json() as Promise<Record<string, number | null>>)
      .then((s) => {
        const accuracy = s.accuracy ?? 0;
        const line =
          `v${String(s.version).padStart(4)} ${bar(accuracy / Number(target))} acc ${accuracy.toFixed(4)} / ${target}` +
          `  ${Number(s.updatesPerSecond ?? 0).toFixed(2)} upd/s  staleness ${Number(s.meanStaleness ?? 0).toFixed(2)}` +
          `  folded ${s.updatesAccepted} rejected ${s.updatesRejected}  ${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
        if (interactive) process.stdout.write(`\r${line}   `);
        else if (Date.now() - lastPrinted > 5000) {
          console.log(line);
          lastPrinted = Date.now();
        }
      })
      .catch(() => undefined);
  }, 1000);

  const code = await exited;
  clearInterval(progress);
  if (interactive) process.stdout.write('\n');
  await stopAll();
  const reportFile = join(runDir, 'report.json');
  if (code !== 0 || !existsSync(reportFile)) {
    say('coordinator-failed', { code, log: join(logDir, 'coordinator.log') });
    const tail = readFileSync(join(logDir, 'coordinator.log'), 'utf8').split('\n').slice(-15);
    console.error(tail.map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line)).join('\n'));
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
  console.log(
    [
      '',
      `Run ${report.runId}: ${report.strategy}, ${report.workers.length} workers, backend ${report.backend}`,
      `  final test accuracy   ${report.finalAccuracy?.toFixed(4)} (target ${report.targetAccuracy})`,
      `  time to target        ${report.secondsToTarget === null ? 'not reached' : `${report.secondsToTarget.toFixed(1)} s`} (coordinator wall ${report.wallSeconds.toFixed(1)} s)`,
      `  versions              ${report.versions}`,
      `  updates               ${report.updatesAccepted} folded (${report.updatesLate} after their lease), ${report.updatesRejected} rejected`,
      `  mean staleness        ${report.meanStaleness.toFixed(2)}`,
      `  report                ${reportFile}`,
      `  chart                 ${join(runDir, 'accuracy.html')}`,
      '',
    ].join('\n'),
  );
  process.exit(report.secondsToTarget === null ? 3 : 0);
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
});
