/**
 * `tributary run <task>` (and `npm start`): the stack (an existing cluster, containers or child
 * JVMs), then one coordinator and N simulated silos as separate processes that talk only through
 * Kafka. Live progress; runs/<run-id>/report.json, accuracy.png (and .html) and every process's log.
 * Exit status 3 when a target was set and not reached.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { startStack, type Stack } from '../infra/stack/index.js';
import { Federation, heterogeneousSpeed } from '../lib/run/federation.js';
import { isSecured } from '../lib/security/client.js';
import { keyValues, type CommandSpec, type Parsed } from './args.js';
import { COORDINATOR_FLAGS, flagEnv, say, TASK_CONFIG_FLAG } from './common.js';

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'train a task end to end on this machine: stack, coordinator and N simulated silos',
  usage: 'tributary run <task> [--workers N] [--delay D] [--partition P] [flags]',
  positionals: [{ name: 'task', required: true, help: 'task file, or a directory holding task.ts' }],
  flags: {
    workers: { type: 'int', min: 1, default: '8', help: 'simulated silos, one worker process each' },
    delay: {
      type: 'string',
      choices: ['heterogeneous', 'none'],
      default: 'heterogeneous',
      help: 'worker speeds: one in ten 10× slower and the rest log-normal, or all alike',
    },
    partition: {
      type: 'string',
      choices: ['dirichlet', 'iid', 'shards'],
      default: 'dirichlet',
      help: "how the task's data function should split data among silos",
    },
    alpha: { type: 'number', min: 0.001, default: '0.5', help: 'Dirichlet α (small: very non-IID)' },
    ...COORDINATOR_FLAGS,
    ...TASK_CONFIG_FLAG,
    job: { type: 'string', help: 'job id (default: the run id)' },
    'run-id': { type: 'string', help: 'run id (default: <task id>-<time>)' },
    'runs-dir': { type: 'string', placeholder: 'dir', default: 'runs', help: 'where runs/<run-id>/ goes' },
    secure: {
      type: 'boolean',
      help: 'a secured stack (TRIBUTARY_SECURITY=on): the job is provisioned, each silo runs as its own principal and signs its updates',
    },
  },
  details:
    'Uses KAFKA_BROKERS and SCHEMA_REGISTRY_URL when both are set; else starts a stack (TRIBUTARY_STACK=containers|local forces one).',
};

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export async function run(parsed: Parsed): Promise<number> {
  const f = parsed.flags;
  const task = resolve(parsed.positionals.task as string);
  const workers = f.workers as number;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const name = basename(/\.[mc]?[jt]s$/.test(task) ? dirname(task) : task);
  const runId = (f['run-id'] as string | undefined) ?? `${name.replace(/[^A-Za-z0-9_-]/g, '-')}-${stamp}`;
  const runDir = resolve(f['runs-dir'] as string, runId);
  const interactive = process.stdout.isTTY === true;
  say('starting', { runId, task, workers, runDir });
  const started: { stack?: Stack; federation?: Federation } = {};
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted');
    void (async () => {
      await started.federation?.stop();
      await started.stack?.stop();
      process.exit(130);
    })();
  });

  const stack = await startStack({
    onProgress: (message) => say('stack', { message }),
    ...(f.secure ? { secure: true } : {}),
  });
  started.stack = stack;
  say('stack-ready', { mode: stack.mode, brokers: stack.brokers.join(','), registryUrl: stack.registryUrl });
  const jobId = (f.job as string | undefined) ?? runId;
  // Our own secured stack, or a secured cluster this user administers (--secure with its credentials).
  const secureWith = stack.security || (f.secure && isSecured(stack.clientSecurity)) ? stack : null;
  if (secureWith) say('provisioning', { jobId, silos: workers, credentials: join(runDir, 'credentials') });
  const startedAt = Date.now();
  let lastPrinted = 0;
  const partition: Record<string, string> = {
    TRIBUTARY_PARTITION: f.partition as string,
    TRIBUTARY_DIRICHLET_ALPHA: String(f.alpha),
  };
  const federation = new Federation({
    brokers: stack.brokers,
    registryUrl: stack.registryUrl,
    runId,
    jobId,
    runDir,
    task,
    taskConfig: keyValues(f.set as string[] | undefined),
    workers,
    coordinatorEnv: flagEnv(parsed, Object.keys(COORDINATOR_FLAGS)),
    workerEnv: (i) => ({ ...partition, ...(f.delay === 'heterogeneous' ? heterogeneousSpeed(i, 8) : {}) }),
    secureWith,
    onStatus: (s) => {
      const status = s as unknown as {
        version: number;
        accuracy: number | null;
        targetAccuracy: number | null;
        evaluation: { loss: number } | null;
        updatesPerSecond: number;
        meanStaleness: number;
        updatesAccepted: number;
        updatesRejected: number;
      };
      if (status.version < 0) return; // the coordinator has not published version 0 yet
      const target = status.targetAccuracy;
      const quality =
        status.accuracy !== null
          ? `acc ${status.accuracy.toFixed(4)}${target ? ` / ${target}` : ''}`
          : `loss ${status.evaluation?.loss.toFixed(4) ?? '-'}`;
      const line =
        `v${String(status.version).padStart(4)} ${target ? bar((status.accuracy ?? 0) / target) : ''} ${quality}` +
        `  ${Number(status.updatesPerSecond ?? 0).toFixed(2)} upd/s  staleness ${Number(status.meanStaleness ?? 0).toFixed(2)}` +
        `  folded ${status.updatesAccepted} rejected ${status.updatesRejected}  ${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
      if (interactive) process.stdout.write(`\r${line}   `);
      else if (Date.now() - lastPrinted > 5000) {
        console.log(line);
        lastPrinted = Date.now();
      }
    },
  });
  started.federation = federation;
  let result;
  try {
    result = await federation.run();
  } finally {
    if (interactive) process.stdout.write('\n');
    await stack.stop();
  }
  const report = result.report;
  const last = report.accuracyCurve.at(-1);
  // Versions are evaluated beside training, so the last one may be a later, lower point than the
  // one that reached the target: name that one too.
  const target = report.targetAccuracy;
  const reached = report.accuracyCurve.find((p) => target !== null && (p.accuracy ?? -1) >= target);
  const reachedBy =
    reached?.accuracy != null ? ` (version ${reached.version}: ${reached.accuracy.toFixed(4)})` : '';
  console.log(
    [
      '',
      `Run ${report.runId}: ${report.strategy}, ${report.workers.length} workers, backend ${report.backend}, stack ${stack.mode}`,
      last?.accuracy != null
        ? `  final test accuracy   ${last.accuracy.toFixed(4)} (target ${report.targetAccuracy ?? 'none'})`
        : `  final test loss       ${last?.loss.toFixed(4) ?? 'not evaluated'}`,
      ...Object.entries(last?.metrics ?? {})
        .filter(([name]) => name !== 'accuracy')
        .map(([name, value]) => `  final ${name.padEnd(15)} ${value.toFixed(4)}`),
      `  time to target        ${report.secondsToTarget === null ? 'not reached' : `${report.secondsToTarget.toFixed(1)} s${reachedBy}`} after the coordinator started (${((Date.now() - startedAt) / 1000).toFixed(1)} s with process start-up)`,
      `  versions              ${report.versions}`,
      `  updates               ${report.updatesAccepted} folded (${report.updatesLate} after their lease), ${report.updatesRejected} rejected`,
      `  mean staleness        ${report.meanStaleness.toFixed(2)}`,
      `  report                ${join(runDir, 'report.json')}`,
      `  chart                 ${join(runDir, 'accuracy.png')}`,
      `  logs                  ${result.logDir}`,
      '',
    ].join('\n'),
  );
  return report.targetAccuracy !== null && report.secondsToTarget === null ? 3 : 0;
}
