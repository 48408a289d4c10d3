import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../lib/core/errors.js';
import { checkAttribution } from './attribution.js';
import type { Lease, WorkerRecord } from './leases.js';

const worker = (workerId: string, silo: string) => ({ workerId, silo }) as WorkerRecord;
const lease = (taskId: string, workerId: string) => ({ taskId, workerId }) as Lease;
const book = {
  leases: new Map([['t1', lease('t1', 'a.w1')]]),
  workers: new Map([
    ['a.w1', worker('a.w1', 'a')],
    ['b.w1', worker('b.w1', 'b')],
  ]),
};

function code(update: { taskId: string; workerId: string }, signer: string | null): string | null {
  try {
    checkAttribution(update, signer, book);
    return null;
  } catch (error) {
    return isTributaryError(error) ? error.code : 'untyped';
  }
}

describe('whose update is this', () => {
  it('the leased worker, signed by its own silo: accepted', () => {
    expect(code({ taskId: 't1', workerId: 'a.w1' }, 'a')).toBeNull();
  });
  it('another worker answering a leased task: misattributed, signed or not', () => {
    expect(code({ taskId: 't1', workerId: 'b.w1' }, 'b')).toBe('TRIB_UPDATE_MISATTRIBUTED');
    expect(code({ taskId: 't1', workerId: 'b.w1' }, null)).toBe('TRIB_UPDATE_MISATTRIBUTED');
  });
  it('a worker of silo b signed by silo a: misattributed, with or without a live lease', () => {
    expect(code({ taskId: 't9', workerId: 'b.w1' }, 'a')).toBe('TRIB_UPDATE_MISATTRIBUTED');
    expect(code({ taskId: 't1', workerId: 'a.w1' }, 'b')).toBe('TRIB_UPDATE_MISATTRIBUTED');
  });
  it('a late update (lease expired) of a known worker: judged by its silo', () => {
    expect(code({ taskId: 't9', workerId: 'a.w1' }, 'a')).toBeNull();
  });
  it('a worker this coordinator never saw (it restarted): the signature alone decides', () => {
    expect(code({ taskId: 't9', workerId: 'c.w1' }, 'c')).toBeNull();
    expect(code({ taskId: 't9', workerId: 'c.w1' }, null)).toBeNull();
  });
  it('reads the book and changes nothing', () => {
    const before = JSON.stringify([...book.leases, ...book.workers]);
    code({ taskId: 't1', workerId: 'b.w1' }, 'a');
    expect(JSON.stringify([...book.leases, ...book.workers])).toBe(before);
  });
});
