import { describe, expect, it } from 'vitest';
import { setNativeThreads, threadsPerProcess } from './backend.js';

describe('threadsPerProcess', () => {
  it('divides the cores among the processes, rounding down', () => {
    expect(threadsPerProcess(1, 8)).toBe(8);
    expect(threadsPerProcess(3, 8)).toBe(2);
    expect(threadsPerProcess(4, 8)).toBe(2);
    expect(threadsPerProcess(5, 8)).toBe(1);
  });

  it('gives every process at least one thread, however many share the cores', () => {
    expect(threadsPerProcess(11, 2)).toBe(1);
    expect(threadsPerProcess(10_000, 2)).toBe(1);
    expect(threadsPerProcess(0, 2)).toBe(2);
  });
});

describe('setNativeThreads', () => {
  it('sets intra-op threads and one inter-op thread', () => {
    const env: NodeJS.ProcessEnv = {};
    setNativeThreads(3, env);
    expect(env).toEqual({ TF_NUM_INTRAOP_THREADS: '3', TF_NUM_INTEROP_THREADS: '1' });
  });

  it("overrides what the environment had (the service's own setting wins)", () => {
    const env: NodeJS.ProcessEnv = { TF_NUM_INTRAOP_THREADS: '16', TF_NUM_INTEROP_THREADS: '16' };
    setNativeThreads(2, env);
    expect(env.TF_NUM_INTRAOP_THREADS).toBe('2');
    expect(env.TF_NUM_INTEROP_THREADS).toBe('1');
  });
});
