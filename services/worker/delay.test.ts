import { describe, expect, it } from 'vitest';
import { delayAfterTrainingMs, offlineForMs } from './delay.js';

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

describe('delayAfterTrainingMs: a slow site waits (m − 1) × its training time', () => {
  const contended = { seconds: 0.03, cpuSeconds: 0.01 }; // waited 20 ms for a core

  it('on the cpu basis multiplies the CPU time, not the wait for a core', () => {
    expect(delayAfterTrainingMs(10, 'cpu', contended)).toBeCloseTo(90, 9);
    expect(delayAfterTrainingMs(10, 'wall', contended)).toBeCloseTo(270, 9);
  });

  it('falls back to the wall time where training time is simulated', () => {
    expect(delayAfterTrainingMs(3, 'cpu', { seconds: 0.5 })).toBeCloseTo(1000, 9);
  });

  it('on the device basis waits out m × the device time for the samples, less what training took', () => {
    const trained = { seconds: 0.03, cpuSeconds: 0.01, samples: 700 }; // the device: 0.1 ms a sample
    expect(delayAfterTrainingMs(1, 'device', trained)).toBeCloseTo(40, 9); // 70 − 30
    expect(delayAfterTrainingMs(10, 'device', trained)).toBeCloseTo(670, 9);
    expect(delayAfterTrainingMs(10, 'device', trained, 0.2)).toBeCloseTo(1370, 9);
  });

  it('on the device basis waits nothing when this host was slower than the device', () => {
    expect(delayAfterTrainingMs(1, 'device', { seconds: 0.5, samples: 700 })).toBe(0);
    expect(delayAfterTrainingMs(3, 'device', { seconds: 0.5 })).toBe(0); // no samples counted
  });

  it('waits nothing at m = 1', () => {
    expect(delayAfterTrainingMs(1, 'cpu', contended)).toBe(0);
    expect(delayAfterTrainingMs(1, 'wall', contended)).toBe(0);
  });
});
