import { describe, expect, it } from 'vitest';
import { SerialWork } from './serial-work.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SerialWork', () => {
  it('runs work one piece at a time, in the order asked, past a piece that failed', async () => {
    const lane = new SerialWork(() => undefined);
    const log: string[] = [];
    let running = 0;
    const piece = (name: string, fail = false) =>
      lane.run(async () => {
        running += 1;
        expect(running).toBe(1);
        log.push(`${name}+`);
        await turn();
        log.push(`${name}-`);
        running -= 1;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([piece('a'), piece('b', true), piece('c')]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('once() queues one run per key until it starts, and reports a failure to its listener', async () => {
    const failures: string[] = [];
    const lane = new SerialWork((key, error) => failures.push(`${key}:${(error as Error).message}`));
    let ticks = 0;
    let release!: () => void;
    void lane.run(() => new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 3; i++) lane.once('tick', async () => void (ticks += 1));
    await turn();
    release();
    await turn();
    expect(ticks).toBe(1);
    lane.once('tick', async () => {
      ticks += 1;
      throw new Error('no broker');
    });
    await turn();
    expect(ticks).toBe(2);
    expect(failures).toEqual(['tick:no broker']);
  });

  it('drops queued and later work once abandoned', async () => {
    const lane = new SerialWork(() => undefined);
    const ran: string[] = [];
    let release!: () => void;
    const first = lane.run(() => new Promise<void>((resolve) => (release = resolve)).then(() => 'first'));
    await turn(); // first is running
    const queued = lane.run(async () => void ran.push('queued'));
    lane.abandon();
    lane.once('tick', async () => void ran.push('tick'));
    const later = lane.run(async () => void ran.push('later'));
    release();
    expect(await first).toBe('first');
    expect(await queued).toBeUndefined();
    expect(await later).toBeUndefined();
    expect(ran).toEqual([]);
    expect(lane.abandoned).toBe(true);
  });
});
