import { describe, expect, it } from 'vitest';
import { settleWithin } from './deadline.js';

const late = () => new Error('late');

describe('settleWithin', () => {
  it("gives the work's value when it settles first", async () => {
    await expect(settleWithin(Promise.resolve(7), 1000, late)).resolves.toBe(7);
  });

  it("gives the work's own error when it fails first", async () => {
    await expect(settleWithin(Promise.reject(new Error('own')), 1000, late)).rejects.toThrow('own');
  });

  it('fails with the late error when the work never settles', async () => {
    const started = Date.now();
    await expect(settleWithin(new Promise<never>(() => undefined), 30, late)).rejects.toThrow('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('ignores the work settling after the deadline', async () => {
    let finish: (v: number) => void = () => undefined;
    const work = new Promise<number>((resolve) => (finish = resolve));
    const outcome = settleWithin(work, 10, late);
    await expect(outcome).rejects.toThrow('late');
    finish(1); // no unhandled rejection or second settlement
    await expect(outcome).rejects.toThrow('late');
  });
});
