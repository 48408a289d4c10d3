/**
 * `npm start`: the main job. Brings up the stack (an existing cluster, containers or child JVMs),
 * then one coordinator and N workers as separate processes that talk only through Kafka, training
 * the MNIST MLP asynchronously (FedBuff) on a Dirichlet(α) split with heterogeneous worker speeds.
 * Shows live progress, stops at the target accuracy, prints a summary and writes
 * runs/<run-id>/report.json and runs/<run-id>/accuracy.png (and .html) (logs in runs/<run-id>/logs/).
 *
 * Knobs (environment): TRIBUTARY_WORKERS (8), TRIBUTARY_TARGET_ACCURACY (0.90),
 * TRIBUTARY_MAX_WALL_SECONDS (300), TRIBUTARY_STRATEGY (fedbuff | fedavg), and every coordinator or
 * worker variable, passed through. Exit status 3 when the target was not reached.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/stack/artifacts.js';
import { startStack, type Stack } from '../infra/stack/index.js';
import { Federation, heterogeneousSpeed } from './federation.js';

const env = process.env;
const workers = Number(env.TRIBUTARY_WORKERS ?? 8);
const target = env.TRIBUTARY_TARGET_ACCURACY ?? '0.90';
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const runId = env.TRIBUTARY_RUN_ID ?? `mnist-${stamp}`;
const runDir = join(PROJECT_ROOT, 'runs', runId);
const interactive = process.stdout.isTTY === true;

const say = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), component: 'train', event, ...fields }));

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

async function main(): Promise<void> {
  say('starting', { runId, workers, target: Number(target), runDir });
  // Set once each exists; the Ctrl-C handler, installed first, stops whatever exists by then.
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

  const stack = await startStack({ onProgress: (message) => say('stack', { message }) });
  started.stack = stack;
  say('stack-ready', {
    mode: stack.mode,
    brokers: stack.brokers.join(','),
    registryUrl: stack.registryUrl,
    startupSeconds: stack.startupMs / 1000,
  });
  const startedAt = Date.now();
  let lastPrinted = 0;
  const federation = new Federation({
    brokers: stack.brokers,
    registryUrl: stack.registryUrl,
    runId,
    jobId: env.TRIBUTARY_JOB_ID ?? runId,
    runDir,
    workers,
    coordinatorEnv: {
      TRIBUTARY_TARGET_ACCURACY: target,
      TRIBUTARY_MAX_WALL_SECONDS: env.TRIBUTARY_MAX_WALL_SECONDS ?? '300',
      TRIBUTARY_CONCURRENCY: env.TRIBUTARY_CONCURRENCY ?? '4',
      TRIBUTARY_BUFFER_K: env.TRIBUTARY_BUFFER_K ?? '2',
      TRIBUTARY_TASK_DEADLINE_MS: env.TRIBUTARY_TASK_DEADLINE_MS ?? '30000',
    },
    workerEnv: (i) => ({
      TRIBUTARY_PARTITION: env.TRIBUTARY_PARTITION ?? 'dirichlet',
      TRIBUTARY_DIRICHLET_ALPHA: env.TRIBUTARY_DIRICHLET_ALPHA ?? '0.5',
      ...heterogeneousSpeed(i, 8),
    }),
    onStatus: (s) => {
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
  console.log(
    [
      '',
      `Run ${report.runId}: ${report.strategy}, ${report.workers.length} workers, backend ${report.backend}, stack ${stack.mode}`,
      `  final test accuracy   ${report.finalAccuracy?.toFixed(4)} (target ${report.targetAccuracy})`,
      `  time to target        ${report.secondsToTarget === null ? 'not reached' : `${report.secondsToTarget.toFixed(1)} s`} after the coordinator started (${((Date.now() - startedAt) / 1000).toFixed(1)} s with process start-up)`,
      `  versions              ${report.versions}`,
      `  updates               ${report.updatesAccepted} folded (${report.updatesLate} after their lease), ${report.updatesRejected} rejected`,
      `  mean staleness        ${report.meanStaleness.toFixed(2)}`,
      `  report                ${join(runDir, 'report.json')}`,
      `  chart                 ${join(runDir, 'accuracy.png')}`,
      `  logs                  ${result.logDir}`,
      '',
    ].join('\n'),
  );
  process.exit(report.secondsToTarget === null ? 3 : 0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
