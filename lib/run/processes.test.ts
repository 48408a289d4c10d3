import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { logChildOutput } from './processes.js';

describe('logChildOutput', () => {
  it('keeps what a child writes to stderr after its stdout closed, and settles when both have', async () => {
    const file = join(scratchDir('tributary-log'), 'child.log');
    const script = [
      "process.stdout.write('first\\n');",
      'process.stdout.end();',
      "setTimeout(() => process.stderr.write('after stdout closed\\n'), 100);",
    ].join(' ');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    await logChildOutput(child, file);
    expect(readFileSync(file, 'utf8')).toBe('first\nafter stdout closed\n');
  });
});
