import { describe, expect, it } from 'vitest';
import { WorkerSchemaPrefetch } from './tasks.js';

describe('WorkerSchemaPrefetch', () => {
  it('fetches every topic once per request, one fetch at a time, and once more for requests made during one', async () => {
    const calls: string[] = [];
    let release: () => void = () => undefined;
    const serde = {
      prefetchLatest: (topic: string) => {
        calls.push(topic);
        return new Promise<number | null>((resolve) => (release = () => resolve(null)));
      },
    };
    const prefetch = new WorkerSchemaPrefetch(serde, ['updates']);
    prefetch.request();
    prefetch.request(); // during the first: one more after it
    prefetch.request(); // ...not two more
    expect(calls).toEqual(['updates']);
    release();
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['updates', 'updates']);
    release();
    await prefetch.idle();
    expect(calls).toHaveLength(2);
    prefetch.request();
    expect(calls).toHaveLength(3);
    release();
    await prefetch.idle();
  });

  it('goes on after a fetch that rejects', async () => {
    let calls = 0;
    const prefetch = new WorkerSchemaPrefetch(
      {
        prefetchLatest: () =>
          ++calls === 1 ? Promise.reject(new Error('registry gone')) : Promise.resolve(7),
      },
      ['updates'],
    );
    prefetch.request();
    await prefetch.idle();
    prefetch.request();
    await prefetch.idle();
    expect(calls).toBe(2);
  });
});
