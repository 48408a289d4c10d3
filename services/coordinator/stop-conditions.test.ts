import { describe, expect, it } from 'vitest';
import { StopConditions } from './stop-conditions.js';

const config = { targetAccuracy: 0.9, maxVersions: 50, maxWallSeconds: 60 };

describe('StopConditions', () => {
  it('stops at the target, and only for an accuracy that reaches it', async () => {
    const stop = new StopConditions(config, 0);
    stop.evaluated(0.89);
    stop.evaluated(undefined);
    stop.stepped(49);
    expect(stop.reason).toBeNull();
    stop.evaluated(0.9);
    expect(await stop.finished).toBe('target-accuracy');
  });

  it('stops at the maximum version, or when the wall time is spent', () => {
    const versions = new StopConditions(config, 0);
    versions.evaluated(0.5);
    versions.stepped(49);
    expect(versions.reason).toBeNull();
    versions.stepped(50);
    expect(versions.reason).toBe('max-versions');
    const wall = new StopConditions(config, 1000);
    wall.ticked(60_999);
    expect(wall.reason).toBeNull();
    wall.ticked(61_000);
    expect(wall.reason).toBe('max-wall-time');
  });

  it('keeps the first reason and tells its listener once', () => {
    const seen: string[] = [];
    const stop = new StopConditions(
      { targetAccuracy: null, maxVersions: null, maxWallSeconds: null },
      0,
      (r) => seen.push(r),
    );
    stop.evaluated(1);
    stop.stepped(1_000_000);
    stop.ticked(Number.MAX_SAFE_INTEGER);
    expect(stop.reason).toBeNull();
    stop.finish('stopped');
    stop.finish('target-accuracy');
    expect(stop.reason).toBe('stopped');
    expect(seen).toEqual(['stopped']);
  });
});
