/**
 * No orphan process ever. The stack command, killed outright (SIGKILL, no chance to clean up), still
 * takes its JVMs down, through infra/stack/supervise.sh (issue #2), and the next stack removes its
 * work directory. `tributary run`, killed so, still takes its coordinator and workers down, through
 * their parent watch (lib/run/parent.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { nodeArgs, PACKAGE_ROOT } from '../../lib/run/processes.js';
import type { RunReport } from '../../services/coordinator/report.js';
import { removeAbandonedRunDirs } from '../../infra/stack/run-dirs.js';
import { childrenOf, isAlive, stackJvmPids } from './processes.js';
import { scratchDir } from '../support/scratch.js';
import { waitFor } from './helpers.js';

function readOr(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

describe('stack process lifetime', () => {
  it('stops its JVMs when the launching process is SIGKILLed', async () => {
    const before = new Set(await stackJvmPids());
    const child = spawn(process.execPath, [...nodeArgs('cli/main.ts'), 'stack'], {
      env: { ...process.env, TRIBUTARY_STACK: 'local' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => (output.includes('"event":"ready"') ? true : undefined), {
      timeoutMs: 120_000,
      what: `stack ready (output so far: ${output.slice(-500)})`,
    });
    const jvms = (await stackJvmPids()).filter((pid) => !before.has(pid));
    expect(jvms.length).toBe(2);

    const workDir = /starting Kafka \S+ and Apicurio \S+ in ([^\s"]+)/.exec(output)?.[1];
    expect(workDir, output).toBeDefined();

    child.kill('SIGKILL');
    await waitFor(() => (jvms.every((pid) => !isAlive(pid)) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'JVMs to exit after their launcher was killed',
    });
    // Its work directory stays behind (nothing was left to remove it) until the next stack starts.
    expect(existsSync(workDir as string)).toBe(true);
    expect(removeAbandonedRunDirs(dirname(workDir as string))).toContain(workDir);
    expect(existsSync(workDir as string)).toBe(false);
  });
});

describe('run process lifetime', () => {
  it('stops its coordinator and workers, the orderly way, when `tributary run` is SIGKILLed', async () => {
    const runsDir = scratchDir('tributary-orphans');
    const run = spawn(
      process.execPath,
      [
        ...nodeArgs('cli/main.ts'),
        'run',
        join(PACKAGE_ROOT, 'examples', 'mnist'),
        '--workers',
        '2',
        '--runs-dir',
        runsDir,
        '--run-id',
        'killed',
        // No accuracy target, and workers alike: the run must still be training when it is killed.
        // (With MNIST's 0.90 and one worker paced 10× slower, the run could reach its target while
        // the test waits for that worker's first update, and stop on its own before the kill.)
        '--target',
        '0',
        '--delay',
        'none',
      ],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: inject('brokers').join(','),
          SCHEMA_REGISTRY_URL: inject('registryUrl'),
        },
        stdio: 'ignore',
      },
    );
    // Should the test fail first: its services follow it, through the watch under test.
    onTestFinished(() => void run.kill('SIGKILL'));
    const pid = run.pid as number;
    const runDir = join(runsDir, 'killed');
    const log = (name: string) => readOr(join(runDir, 'logs', `${name}.log`));
    // Every process up and working: the coordinator started, both workers published an update.
    await waitFor(
      () =>
        log('coordinator').includes('"event":"coordinator-started"') &&
        [0, 1].every((i) => log(`worker-${i}`).includes('"event":"update-published"'))
          ? true
          : undefined,
      { timeoutMs: 180_000, what: 'both workers of the run to publish an update' },
    );
    // tsx has a child of its own (esbuild): the services are those running their main.
    const services = await childrenOf(pid, 'services/(coordinator|worker)/main');
    expect(services.length).toBe(3);

    run.kill('SIGKILL');
    await waitFor(() => (services.every((p) => !isAlive(p)) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the coordinator and workers to exit after `tributary run` was killed',
    });
    // The orderly way: the coordinator stopped as on SIGTERM, and wrote its report. (What the
    // processes logged after their launcher died is lost: it was the one writing their logs.)
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as RunReport;
    expect(report.stopReason).toBe('stopped');
  });
});
