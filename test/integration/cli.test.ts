/**
 * The `tributary` command as a user runs it, against the real broker and registry: every
 * subcommand's --help and a bad argument line, and each main path. The tasks live in a temporary
 * directory outside the repository, with `tributary` linked into its node_modules as `npm install`
 * would put it: one scaffolded by `tributary new`, one written by hand with its own training loop,
 * its own metric and a config that can make its layout differ.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodeArgs, PACKAGE_ROOT } from '../../lib/run/processes.js';
import type { RunReport } from '../../services/coordinator/report.js';
import { killAll, readTopic, spawnService, type Service } from './services.js';
import { uniqueName } from './helpers.js';
import { userProjectDir } from '../support/tasks.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { topicName } from '../../lib/kafka/topics.js';

const brokers = () => inject('brokers');
const registryUrl = () => inject('registryUrl');
const clusterEnv = () => ({ KAFKA_BROKERS: brokers().join(','), SCHEMA_REGISTRY_URL: registryUrl() });

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tributary …` to completion. */
function tributary(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs('cli/main.ts'), ...args], {
      cwd: options.cwd ?? workDir,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running `tributary …` (coordinator, worker) under the harness, which kills it afterwards. */
function tributaryService(name: string, args: string[], env: Record<string, string> = {}): Service {
  return spawnService(name, 'cli/main.ts', { ...clusterEnv(), ...env }, args);
}

let workDir: string;
let scaffolded: string;
let custom: string;

beforeAll(() => {
  workDir = userProjectDir('tributary-cli');
  scaffolded = join(workDir, 'clusters');
  custom = join(workDir, 'custom');
  mkdirSync(custom);
  copyFileSync(
    fileURLToPath(new URL('./tasks/custom-task.ts.txt', import.meta.url)),
    join(custom, 'task.ts'),
  );
});
afterEach(killAll);
afterAll(async () => {
  await killAll();
  rmSync(workDir, { recursive: true, force: true });
});

describe('tributary (no command, unknown command)', () => {
  it('prints the commands, and refuses an unknown one with status 2', async () => {
    const help = await tributary(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run', 'coordinator', 'worker', 'stack', 'provision', 'status', 'new'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    const unknown = await tributary(['train']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe(
      '"train": unknown command (one of run, coordinator, worker, stack, provision, status, new; tributary --help)',
    );
  });
});

describe.each([
  [
    'run',
    ['x', '--workers', '0', '--colour', 'red'],
    [
      '--workers: must be a whole number >= 1, got "0"',
      '--colour: unknown flag (see tributary run --help)',
      '"red": unexpected argument',
    ],
  ],
  [
    'coordinator',
    ['--strategy', 'fedsgd', '--buffer-k'],
    [
      '--strategy: must be one of fedbuff, fedavg, got "fedsgd"',
      '--buffer-k: needs a value (int)',
      '<task>: required (task file, or a directory holding task.ts)',
    ],
  ],
  [
    'worker',
    ['t', '--encoding', 'FLOAT64'],
    [
      '--encoding: must be one of FLOAT32, FLOAT16, INT8_AFFINE, got "FLOAT64"',
      '--worker-id: required (or TRIBUTARY_WORKER_ID)',
      '--silo: required (or TRIBUTARY_SILO, or --credentials with a silo bundle)',
    ],
  ],
  [
    'provision',
    ['--job', 'j', '--silos', 'a.b,coordinator', '--brokers', '127.0.0.1:1'],
    [
      'silo "a.b": letters, digits, - and _ only (at most 63, starting with a letter or digit)',
      'silo "coordinator": the name is reserved',
    ],
  ],
  ['stack', ['--mode', 'cloud'], ['--mode: must be one of auto, containers, local, got "cloud"']],
  ['status', ['--json=yes', 'extra'], ['--json: takes no value', '"extra": unexpected argument']],
  [
    'new',
    ['--name'],
    ['--name: needs a value (string)', '<dir>: required (where to create it (must not exist, or be empty))'],
  ],
])('tributary %s', (command, bad, lines) => {
  it('has --help', async () => {
    const help = await tributary([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: tributary ${command}`);
    expect(help.stdout).toContain('--help');
  });

  it('refuses a bad argument line with status 2 and one line per problem', async () => {
    const result = await tributary([command, ...bad], {
      env: { TRIBUTARY_WORKER_ID: '', TRIBUTARY_SILO: '' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(lines);
    expect(result.stdout).toBe('');
  });
});

describe('main paths', () => {
  it('new scaffolds a task outside the repository that `run` trains to its target', async () => {
    const created = await tributary(['new', scaffolded]);
    expect(created.code, created.stderr).toBe(0);
    for (const file of ['package.json', 'task.ts', 'README.md', 'test/task.test.ts'])
      expect(existsSync(join(scaffolded, file)), file).toBe(true);
    const again = await tributary(['new', scaffolded]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists and is not empty');

    const started = Date.now();
    const run = await tributary(
      ['run', scaffolded, '--workers', '3', '--runs-dir', join(workDir, 'runs'), '--run-id', 'scaffold'],
      {
        env: clusterEnv(),
      },
    );
    expect(run.code, `${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`).toBe(0);
    const report = JSON.parse(
      readFileSync(join(workDir, 'runs', 'scaffold', 'report.json'), 'utf8'),
    ) as RunReport;
    expect(report.stopReason).toBe('target-accuracy');
    // The version that met the target; the report may end one evaluation later (the version
    // waiting at stop is evaluated too), which can be a lower point.
    expect(Math.max(...report.accuracyCurve.map((p) => p.accuracy ?? 0))).toBeGreaterThanOrEqual(0.9);
    expect(existsSync(join(workDir, 'runs', 'scaffold', 'accuracy.png'))).toBe(true);
    console.log(
      JSON.stringify({
        test: 'cli-run-scaffold',
        seconds: (Date.now() - started) / 1000,
        versions: report.versions,
      }),
    );
  });

  it('runs a task with its own training loop and metric, both visible in the report', async () => {
    const run = await tributary(
      [
        'run',
        custom,
        '--workers',
        '2',
        '--delay',
        'none',
        '--max-versions',
        '3',
        '--runs-dir',
        join(workDir, 'runs'),
        '--run-id',
        'custom',
      ],
      { env: clusterEnv() },
    );
    expect(run.code, `${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`).toBe(0);
    const report = JSON.parse(
      readFileSync(join(workDir, 'runs', 'custom', 'report.json'), 'utf8'),
    ) as RunReport;
    expect(report.versions).toBe(3);
    // customSteps is what the task's own training loop counted: 256 examples in batches of 32.
    expect(report.trainingMetrics.customSteps).toBe(8);
    const last = report.accuracyCurve.at(-1);
    expect(Object.keys(last?.metrics ?? {})).toEqual(['recallOfOne']);
    expect(last?.metrics.recallOfOne).toBeGreaterThanOrEqual(0);
    expect(last?.metrics.recallOfOne).toBeLessThanOrEqual(1);
    expect(last?.accuracy).toBeNull(); // the task replaced the default metrics
    expect(run.stdout).toMatch(/final recallOfOne\s+\d\.\d{4}/);
  });

  it('coordinator and worker run one process each; status reads the job from its topics', async () => {
    const job = uniqueName('cli');
    const coordinator = tributaryService('coordinator', [
      'coordinator',
      scaffolded,
      '--job',
      job,
      '--max-versions',
      '3',
      '--target',
      '0',
      // Both silos take part: a worker slower to start than three versions would otherwise miss the job.
      '--min-workers',
      '2',
      '--max-seconds',
      '120',
      '--run-dir',
      join(workDir, 'runs', job),
    ]);
    const workers = ['plant-a', 'plant-b'].map((silo) =>
      tributaryService(`worker-${silo}`, [
        'worker',
        scaffolded,
        '--job',
        job,
        '--silo',
        silo,
        '--worker-id',
        `${silo}-1`,
      ]),
    );
    expect(await coordinator.exited, coordinator.output.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(join(workDir, 'runs', job, 'report.json'), 'utf8')) as RunReport;
    const workerTails = workers.map((w) => `${w.name}:\n${w.output.slice(-1500)}`).join('\n');
    expect(report.versions, workerTails).toBe(3);
    expect(report.workers.map((w) => w.silo).sort(), workerTails).toEqual(['plant-a', 'plant-b']);
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));

    const text = await tributary(['status', '--job', job], { env: clusterEnv() });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}version {10}3$/m);
    expect(text.stdout).toMatch(/plant-a-1\s+silo plant-a/);
    const json = await tributary(['status', '--job', job, '--json'], { env: clusterEnv() });
    const status = JSON.parse(json.stdout) as {
      version: number;
      updatesFolded: number;
      workers: { silo: string; backend: string }[];
      lastEvaluation: { version: number; numbers: Record<string, number> };
      finished: { reason: string } | null;
      rejectionsByCode: Record<string, number>;
    };
    expect(status.version).toBe(3);
    expect(status.updatesFolded).toBe(report.updatesAccepted);
    expect(status.workers.map((w) => w.silo)).toEqual(['plant-a', 'plant-b']);
    expect(status.lastEvaluation.version).toBe(3);
    expect(status.lastEvaluation.numbers.testAccuracy).toBe(report.finalAccuracy);
    expect(status.finished?.reason).toBe('max-versions');
    expect(status.rejectionsByCode).toEqual({});
    const list = await tributary(['status'], { env: clusterEnv() });
    expect(list.stdout).toContain(`  ${job}\n`);
    const missing = await tributary(['status', '--job', 'no-such-job'], { env: clusterEnv() });
    expect(missing.code).toBe(1);
  });

  it('a worker or a restarted coordinator whose model layout differs from the job stops with TRIB_LAYOUT_MISMATCH; nothing is folded', async () => {
    const job = uniqueName('layout');
    const coordinator = tributaryService('coordinator', [
      'coordinator',
      custom,
      '--job',
      job,
      '--max-versions',
      '2',
      '--http-port',
      '0',
    ]);
    const worker = tributaryService('worker', [
      'worker',
      custom,
      '--job',
      job,
      '--silo',
      'odd',
      '--worker-id',
      'odd-1',
      '--set',
      'hidden=8',
    ]);
    expect(await worker.exited).toBe(1);
    const fatal = worker.events('cannot-take-part')[0];
    expect(fatal?.code).toBe('TRIB_LAYOUT_MISMATCH');
    expect(fatal?.message).toContain(
      "tensor 0 (hidden/kernel): the job's shape is [2, 16], this process's [2, 8]",
    );
    const serde = AvroSerde.forUrl(registryUrl());
    const events = await readTopic(
      brokers(),
      topicName(job, 'events'),
      (v) => serde.decode('CoordinatorEvent', v),
      {
        done: (items) => items.some((e) => e.type === 'worker-problem'),
      },
    );
    expect(events.find((e) => e.type === 'worker-problem')?.labels.code).toBe('TRIB_LAYOUT_MISMATCH');
    expect(events.filter((e) => e.type === 'update-folded')).toEqual([]);
    expect(coordinator.running).toBe(true);

    // A coordinator for the same job with the changed task restores the job from its checkpoint
    // before it loads the model, then finds the task's model is not the checkpoint's and stops.
    await coordinator.kill('SIGKILL');
    const changed = tributaryService('coordinator-changed', [
      'coordinator',
      custom,
      '--job',
      job,
      '--http-port',
      '0',
      '--set',
      'hidden=8',
    ]);
    expect(await changed.exited, changed.output.slice(-3000)).toBe(1);
    const lines = changed.output.split('\n');
    const at = (event: string) => lines.findIndex((line) => line.includes(`"event":"${event}"`));
    expect(at('recovered')).toBeGreaterThan(-1);
    expect(at('coordinator-started')).toBeLessThan(at('task-loaded'));
    const failed = changed.events('model-load-failed')[0]?.error as { code?: string; message?: string };
    expect(failed?.code).toBe('TRIB_LAYOUT_MISMATCH');
    expect(failed?.message).toContain(
      "tensor 0 (hidden/kernel): the job's shape is [2, 16], this process's [2, 8]",
    );
  });

  it('stack --fetch-only fills the artifact cache and exits', async () => {
    const result = await tributary(['stack', '--fetch-only'], { cwd: PACKAGE_ROOT });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"event":"artifacts-ready"');
  });
});
