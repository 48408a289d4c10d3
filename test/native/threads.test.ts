/**
 * TRIBUTARY_TF_THREADS reaches native TensorFlow: the threads a process has after its first op
 * grow by exactly the intra-op threads asked for (the inter-op pool stays at one). Counted in
 * /proc, so Linux only, as the native backend here is.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/tf-threads.ts', import.meta.url));

function threadsWith(intraOp: number): { backend: string; threads: number } {
  const tsx = ['--conditions=tributary-source', '--import', import.meta.resolve('tsx')];
  const out = execFileSync(process.execPath, [...tsx, FIXTURE, String(intraOp)], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as { backend: string; threads: number };
}

describe('TensorFlow thread pools', () => {
  it('has as many more threads as intra-op threads asked for', () => {
    const one = threadsWith(1);
    const four = threadsWith(4);
    expect(one.backend).toBe('tensorflow');
    expect(four.threads - one.threads).toBe(3);
  });
});
