import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../infra/stack/process.js';
import { scratchDir } from '../../test/support/scratch.js';
import { EnvReader } from '../config.js';
import { waitFor } from '../testing/process.js';
import { parentWatchEnv, readParentPid, whenParentGone } from './parent.js';

describe('whenParentGone', () => {
  it('calls back once, when the parent pid changes, and not while it stays', async () => {
    let parent = 100;
    let calls = 0;
    whenParentGone(
      100,
      () => calls++,
      5,
      () => parent,
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(calls).toBe(0);
    parent = 1;
    await waitFor(() => (calls > 0 ? true : undefined), { timeoutMs: 1000, intervalMs: 5 });
    parent = 100;
    await new Promise((resolve) => setTimeout(resolve, 40));
    parent = 1;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(calls).toBe(1);
  });

  it('stops watching when told to', async () => {
    let calls = 0;
    const stop = whenParentGone(
      100,
      () => calls++,
      5,
      () => 1,
    );
    stop();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(calls).toBe(0);
  });

  it('reads TRIBUTARY_PARENT_PID: unset or 0 is none, anything but a whole number is a problem', () => {
    const read = (value?: string) => {
      const r = new EnvReader(value === undefined ? {} : { TRIBUTARY_PARENT_PID: value });
      return { pid: readParentPid(r), problems: r.problems };
    };
    expect(read()).toEqual({ pid: null, problems: [] });
    expect(read('0')).toEqual({ pid: null, problems: [] });
    expect(read('4242')).toEqual({ pid: 4242, problems: [] });
    expect(read('-3').problems).toHaveLength(1);
    expect(read('12.5').problems).toHaveLength(1);
    expect(read('me').problems[0]).toMatch(/TRIBUTARY_PARENT_PID/);
    expect(parentWatchEnv(77)).toEqual({ TRIBUTARY_PARENT_PID: '77' });
  });
});

/**
 * A launcher process that starts a service (which watches the pid it is given, writes `marker` on
 * a warning and on SIGTERM, and `marker`.ready once it watches), naming as the service's parent
 * itself ('self') or the test process ('own parent'); resolves once the service watches.
 */
async function launch(named: 'self' | 'own parent', marker: string) {
  const parentTs = fileURLToPath(new URL('./parent.ts', import.meta.url));
  const service = [
    `import { stopWithParent } from ${JSON.stringify(parentTs)};`,
    "import { writeFileSync } from 'node:fs';",
    `stopWithParent(Number(process.env.TRIBUTARY_PARENT_PID), { warn: (event) => writeFileSync(${JSON.stringify(marker)}, event) });`,
    `process.on('SIGTERM', () => { writeFileSync(${JSON.stringify(marker)}, 'SIGTERM'); process.exit(0); });`,
    `writeFileSync(${JSON.stringify(`${marker}.ready`)}, '');`,
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const launcher = [
    "const { spawn } = require('node:child_process');",
    `const child = spawn(process.execPath, ['--import', ${JSON.stringify(import.meta.resolve('tsx'))}, '--input-type=module', '-e', ${JSON.stringify(service)}],`,
    `  { env: { ...process.env, TRIBUTARY_PARENT_PID: String(${named === 'self' ? 'process.pid' : 'process.ppid'}) }, stdio: 'ignore' });`,
    'console.log(String(child.pid)); setInterval(() => {}, 1000);',
  ].join('\n');
  const parent = spawn(process.execPath, ['-e', launcher], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const servicePid = await waitFor(() => (output.includes('\n') ? Number(output.trim()) : undefined), {
    what: 'the service pid',
  });
  await waitFor(() => (existsSync(`${marker}.ready`) ? true : undefined), {
    timeoutMs: 20_000,
    what: 'the service to start watching',
  });
  return { parent, servicePid };
}

describe('stopWithParent, between real processes', () => {
  it('stops a service through its SIGTERM handler when its launcher is SIGKILLed', async () => {
    const marker = join(scratchDir('tributary-parent'), 'stopped');
    const { parent, servicePid } = await launch('self', marker);
    expect(isAlive(servicePid)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor(() => (isAlive(servicePid) ? undefined : true), {
      timeoutMs: 5000,
      what: 'the service to stop after its launcher was killed',
    });
    expect(readFileSync(marker, 'utf8')).toBe('SIGTERM');
  });

  it('does not watch a pid that is alive but not its parent (a variable inherited from further up)', async () => {
    const marker = join(scratchDir('tributary-parent'), 'inherited');
    const { parent, servicePid } = await launch('own parent', marker);
    try {
      expect(readFileSync(marker, 'utf8')).toBe('parent-pid-not-parent');
      parent.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Its launcher is gone, but it was told to stop with another process, which lives on.
      expect(isAlive(servicePid)).toBe(true);
      expect(readFileSync(marker, 'utf8')).toBe('parent-pid-not-parent');
    } finally {
      if (isAlive(servicePid)) process.kill(servicePid, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });
});
