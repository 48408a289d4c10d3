import { describe, expect, it } from 'vitest';
import { ReadAhead } from './read-ahead.js';

/** A handling that ends when the test says so. */
function gate() {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ReadAhead', () => {
  it('hands records over without waiting for their handling, within the byte budget', async () => {
    const ahead = new ReadAhead(100, () => undefined);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    for (const [i, g] of gates.slice(0, 2).entries()) await ahead.admit(40, () => (started.push(i), g.done));
    expect(started).toEqual([0, 1]);
    expect(ahead.pending).toBe(2);

    // 40 more bytes would pass 100: the third waits until one before it is handled.
    let admitted = false;
    const third = ahead.admit(40, () => (started.push(2), (gates[2] as ReturnType<typeof gate>).done));
    void third.then(() => (admitted = true));
    await turn();
    expect(admitted).toBe(false);
    expect(started).toEqual([0, 1]);

    gates[0]?.open();
    await third;
    expect(started).toEqual([0, 1, 2]);
    expect(ahead.pending).toBe(2);
    gates[1]?.open();
    gates[2]?.open();
    await turn();
    expect(ahead.pending).toBe(0);
  });

  it('always lets one record through, however large', async () => {
    const ahead = new ReadAhead(10, () => undefined);
    const g = gate();
    await ahead.admit(1_000, () => g.done);
    expect(ahead.pending).toBe(1);
    let second = false;
    const next = ahead.admit(1, async () => {
      second = true;
    });
    await turn();
    expect(second).toBe(false);
    g.open();
    await next;
    expect(second).toBe(true);
  });

  it('reports a handling that throws, and frees its room', async () => {
    const failures: unknown[] = [];
    const ahead = new ReadAhead(10, (error) => failures.push(error));
    const g = gate();
    await ahead.admit(10, () => g.done);
    const next = ahead.admit(10, async () => undefined);
    g.fail(new Error('step failed'));
    await next;
    await turn();
    expect(failures.map((e) => (e as Error).message)).toEqual(['step failed']);
    expect(ahead.pending).toBe(0);
  });
});
