/**
 * No orphan JVM ever: the stack command, killed outright (SIGKILL, no chance to clean up), still
 * takes its JVMs down, through infra/stack/supervise.sh. Issue #2.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeArgs } from '../../lib/run/processes.js';
import { isAlive, stackJvmPids } from './processes.js';
import { waitFor } from './helpers.js';

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

    child.kill('SIGKILL');
    await waitFor(() => (jvms.every((pid) => !isAlive(pid)) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'JVMs to exit after their launcher was killed',
    });
  });
});
