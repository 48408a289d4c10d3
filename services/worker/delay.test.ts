import { describe, expect, it } from 'vitest';
import { offlineForMs } from './delay.js';

describe('offlineForMs: an intermittent site', () => {
  const outage = { everyMs: 10_000, forMs: 3_000 };
  it('is online for the first everyMs − forMs of each period and offline for the rest', () => {
    expect(offlineForMs(outage, 0)).toBe(0);
    expect(offlineForMs(outage, 6_999)).toBe(0);
    expect(offlineForMs(outage, 7_000)).toBe(3_000);
    expect(offlineForMs(outage, 9_500)).toBe(500);
    expect(offlineForMs(outage, 10_000)).toBe(0);
    expect(offlineForMs(outage, 27_500)).toBe(2_500);
  });
  it('is always online without an outage model', () => {
    expect(offlineForMs({ everyMs: 0, forMs: 0 }, 12_345)).toBe(0);
    expect(offlineForMs({ everyMs: 10_000, forMs: 0 }, 9_999)).toBe(0);
  });
});
