import { describe, expect, it } from 'vitest';
import type { TtaResult } from './report.js';
import { servedAverageWords } from './words.js';

const result = (fedbuff: Record<string, string> | undefined): TtaResult => ({
  parameters: fedbuff ? { strategies: { fedbuff, fedavg: {} } } : {},
  summary: [],
  runs: [],
});

describe("the flower report's words on FedBuff's served average", () => {
  it('names the β and the bench of each Tributary result that served one', () => {
    const words = servedAverageWords([
      { bench: 'tta-numpy-device', result: result({ TRIBUTARY_SERVED_AVERAGE: '0.75' }) },
      { bench: 'tta-device', result: result({}) },
    ]);
    expect(words).toContain('β = 0.75 in bench tta-numpy-device');
    expect(words).not.toContain('tta-device,');
    expect(words).not.toContain('in bench tta-device');
  });

  it('says nothing for results that served each version, or recorded no settings', () => {
    expect(servedAverageWords([{ bench: 'tta', result: result(undefined) }])).toBe('');
    expect(servedAverageWords([{ bench: 'tta', result: result({ TRIBUTARY_SERVED_AVERAGE: '0' }) }])).toBe(
      '',
    );
  });
});
