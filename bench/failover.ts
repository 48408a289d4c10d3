/**
 * `npm run bench -- failover`: how long a job stands still when its coordinator is SIGKILLed and a
 * new one starts at once (what a supervisor does). 20 virtual workers keep the job busy (synthetic
 * trainer, 200 ms per task, K = 4: a version every ~50 ms); 20 times: let it train 3 s, SIGKILL the
 * coordinator, start a new one, and time kill → the new coordinator's first new version (its
 * /status, polled every 50 ms), with the new process's own milestones from its log: checkpoint
 * restored, started (consumers joined), first version. Writes bench/results/failover.{json,md}.
 */
import { fileURLToPath } from 'node:url';
import { startStack } from '../infra/stack/index.js';
import { startFederation, type ServiceProcess } from '../lib/testing/index.js';
import { machine, median, table, writeResult } from './common.js';

const KILLS = Number(process.env.TRIBUTARY_FAILOVER_KILLS ?? 20);
const TASK = fileURLToPath(new URL('../examples/device-fleet/task.ts', import.meta.url));

interface Failover {
  readonly killedAtVersion: number;
  /** Seconds from the kill to each milestone of the new coordinator. */
  readonly recovered: number;
  readonly started: number;
  readonly nextVersion: number;
  readonly restoreSeconds: number;
}

const logTime = (p: ServiceProcess, event: string) => {
  const line = p.events(event).at(-1);
  return line ? Date.parse(String(line.time)) : Number.NaN;
};

export async function runFailover(): Promise<void> {
  const stack = await startStack({
    mode: 'local',
    onProgress: (m) => console.log(JSON.stringify({ bench: 'failover', stack: m })),
  });
  const results: Failover[] = [];
  try {
    const federation = await startFederation({
      stack,
      task: TASK,
      workers: 1,
      coordinator: {
        TRIBUTARY_CONCURRENCY: '20',
        TRIBUTARY_BUFFER_K: '4',
        TRIBUTARY_EVALUATE_EVERY: '1000000',
        TRIBUTARY_TARGET_ACCURACY: '0',
        TRIBUTARY_MAX_WALL_SECONDS: '3600',
        TRIBUTARY_TASK_DEADLINE_MS: '20000',
      },
      worker: () => ({
        TRIBUTARY_WORKER_ID: 'fleet',
        TRIBUTARY_SILO: 'site',
        TRIBUTARY_VIRTUAL_WORKERS: '20',
        TRIBUTARY_SYNTHETIC_TRAIN_MS: '200',
        TRIBUTARY_LOG_LEVEL: 'warn',
      }),
    });
    try {
      await federation.waitForVersion(20, { timeoutMs: 180_000 });
      for (let i = 0; i < KILLS; i++) {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const killedAtVersion = ((await federation.status())?.version as number | undefined) ?? 0;
        const killedAt = Date.now();
        const coordinator = await federation.restartCoordinator();
        for (;;) {
          const version = (await federation.status())?.version as number | undefined;
          if (version !== undefined && version > killedAtVersion) break;
          if (!coordinator.running)
            throw new Error(`the new coordinator exited:\n${coordinator.output.slice(-2000)}`);
          if (Date.now() - killedAt > 120_000) throw new Error('no new version 120 s after the kill');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const nextVersion = (Date.now() - killedAt) / 1000;
        const recoveredLine = coordinator.events('recovered').at(-1);
        const result: Failover = {
          killedAtVersion,
          recovered: (logTime(coordinator, 'recovered') - killedAt) / 1000,
          started: (logTime(coordinator, 'coordinator-started') - killedAt) / 1000,
          nextVersion,
          restoreSeconds: Number(recoveredLine?.readSeconds ?? Number.NaN),
        };
        results.push(result);
        console.log(JSON.stringify({ bench: 'failover', kill: i + 1, ...result }));
      }
    } finally {
      await federation.stop();
    }
  } finally {
    await stack.stop();
  }
  const stat = (f: (r: Failover) => number) => {
    const xs = results.map(f).filter(Number.isFinite);
    return { median: median(xs), max: Math.max(...xs) };
  };
  const rows = (
    [
      ['checkpoint restored (process start + read)', (r: Failover) => r.recovered],
      ['  of which reading the checkpoint', (r: Failover) => r.restoreSeconds],
      ['started (consumers joined)', (r: Failover) => r.started],
      ['first new version (kill → next version)', (r: Failover) => r.nextVersion],
    ] as const
  ).map(([name, f]) => {
    const s = stat(f);
    return [name, s.median.toFixed(2), s.max.toFixed(2)];
  });
  const markdown = [
    '# Coordinator failover: SIGKILL → next version',
    '',
    `${results.length} kills; a new coordinator started at once after each; seconds after the kill.`,
    '',
    table(['milestone', 'median s', 'max s'], rows),
  ].join('\n');
  writeResult('failover', { machine: machine(), kills: results }, markdown);
  console.log(markdown);
}
