import { describe, expect, it } from 'vitest';
import { RecordWindow } from './window.js';

const add = (w: RecordWindow, id: number, t: number) => w.add(`r${id}`, t, [id, id + 0.5], [id % 3]);

describe('RecordWindow', () => {
  it('keeps the last maxRecords examples, evicting the oldest first', () => {
    const w = new RecordWindow({ maxRecords: 3, maxAgeMs: null }, 2, 1);
    for (let i = 0; i < 5; i++) add(w, i, i * 10);
    const s = w.snapshot();
    expect(s.ids).toEqual(['r2', 'r3', 'r4']);
    expect([...s.features]).toEqual([2, 2.5, 3, 3.5, 4, 4.5]);
    expect([...s.targets]).toEqual([2, 0, 1]);
    expect([...s.timestamps]).toEqual([20, 30, 40]);
    expect(w.stats()).toMatchObject({ size: 3, fromMs: 20, toMs: 40, added: 5, evicted: 2 });
  });

  it('drops what is older than maxAgeMs before the newest time, and refuses records already too old', () => {
    const w = new RecordWindow({ maxRecords: 100, maxAgeMs: 1000 }, 2, 1);
    add(w, 0, 0);
    add(w, 1, 500);
    add(w, 2, 1200); // 0 is now 1200 ms old
    expect(w.snapshot().ids).toEqual(['r1', 'r2']);
    expect(add(w, 3, 100)).toBe(false); // older than newest − 1000
    expect(add(w, 4, 900)).toBe(true); // out of order but within the bound
    add(w, 5, 2100); // 1 (500) and 2 (1200)... 2 is 900 ms old: kept; 1 is dropped
    expect(w.snapshot().ids).toEqual(['r2', 'r4', 'r5']);
    add(w, 6, 2300); // 2 (1200) is now 1100 old: dropped; 4 (900) reaches the front and goes too
    expect(w.snapshot().ids).toEqual(['r5', 'r6']);
    expect(w.stats()).toMatchObject({ size: 2, fromMs: 2100, toMs: 2300, added: 6, evicted: 4 });
  });

  it('applies both bounds together', () => {
    const w = new RecordWindow({ maxRecords: 2, maxAgeMs: 50 }, 2, 1);
    add(w, 0, 0);
    add(w, 1, 10);
    add(w, 2, 20);
    expect(w.snapshot().ids).toEqual(['r1', 'r2']);
    add(w, 3, 100);
    expect(w.snapshot().ids).toEqual(['r3']);
  });

  it('holds a fixed amount of memory however many records pass through', () => {
    const w = new RecordWindow({ maxRecords: 1000, maxAgeMs: null }, 16, 1);
    const before = w.stats().bytes;
    const features = new Float32Array(16);
    for (let i = 0; i < 200_000; i++) w.add(String(i), i, features, [1]);
    expect(w.stats().bytes).toBe(before);
    expect(before).toBe(1000 * 16 * 4 + 1000 * 4 + 1000 * 8);
    expect(w.size).toBe(1000);
    expect(w.snapshot().ids[0]).toBe('199000');
  });

  it('refuses examples of the wrong width and bad bounds', () => {
    const w = new RecordWindow({ maxRecords: 2, maxAgeMs: null }, 2, 1);
    expect(() => w.add('x', 0, [1], [0])).toThrow(/1 features and 1 targets, expected 2 and 1/);
    expect(() => new RecordWindow({ maxRecords: 0, maxAgeMs: null }, 1, 1)).toThrow(RangeError);
    expect(() => new RecordWindow({ maxRecords: 1, maxAgeMs: 0 }, 1, 1)).toThrow(RangeError);
  });
});
