import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';
import { boundedKey, boundedMessage, DEFAULT_REJECTION_LIMITS, RejectionBatch } from './rejections.js';

describe('RejectionBatch', () => {
  const record = (bytes: number, key = 'k') => ({ key, value: Buffer.alloc(bytes) });

  it('is full by count or by bytes, and clears after a commit', () => {
    const byCount = new RejectionBatch({ ...DEFAULT_REJECTION_LIMITS, maxBatchCount: 3 });
    byCount.add(record(10));
    byCount.add(record(10));
    expect(byCount.full).toBe(false);
    byCount.add(record(10));
    expect(byCount.full).toBe(true);
    byCount.clear();
    expect([byCount.count, byCount.full]).toEqual([0, false]);
    const byBytes = new RejectionBatch({ ...DEFAULT_REJECTION_LIMITS, maxBatchBytes: 100 });
    byBytes.add(record(98, 'ab'));
    expect(byBytes.full).toBe(true);
  });

  it('sends in groups no larger than maxSendBytes, in order, losing none (regression: a burst of rejections exceeded the broker limit)', () => {
    const limits = { ...DEFAULT_REJECTION_LIMITS, maxSendBytes: 1000 };
    const batch = new RejectionBatch(limits);
    const sizes = Array.from({ length: 300 }, (_, i) => 50 + ((i * 37) % 400));
    sizes.forEach((n, i) => batch.add(record(n, `k${i}`)));
    batch.add(record(5000, 'big')); // larger than a group: goes alone
    const groups = batch.groups();
    for (const g of groups) {
      const bytes = g.reduce((n, r) => n + r.value.length + Buffer.byteLength(r.key), 0);
      expect(g.length === 1 || bytes <= limits.maxSendBytes).toBe(true);
    }
    expect(groups.flat().map((r) => r.key)).toEqual([...sizes.map((_, i) => `k${i}`), 'big']);
  });

  it('bounds keys and messages', () => {
    expect(boundedKey('short', 512)).toBe('short');
    const long = boundedKey('x'.repeat(3_000_000), 512);
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(boundedMessage('m'.repeat(5000), 1024)).toHaveLength(1024);
  });
});

describe('replay cursor', () => {
  it('round-trips, and reads an absent or garbled header as "skip nothing"', () => {
    const cursor = {
      partitions: new Map([
        [0, 17],
        [3, 4],
      ]),
      heldKeys: new Set(['a', 'b']),
    };
    expect(decodeCursor(JSON.parse(JSON.stringify(encodeCursor(cursor))))).toEqual(cursor);
    const empty = { partitions: new Map(), heldKeys: new Set() };
    expect(decodeCursor(undefined)).toEqual(empty);
    expect(decodeCursor('{not an object')).toEqual(empty);
    expect(decodeCursor(JSON.parse('{"partitions":{"x":1,"2":1.5,"1":3},"heldKeys":[1,"k"]}'))).toEqual({
      partitions: new Map([[1, 3]]),
      heldKeys: new Set(['k']),
    });
  });
});
