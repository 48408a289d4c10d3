import { describe, expect, it } from 'vitest';
import type { RoundPoint } from './round-points.js';
import {
  bufferedTrainingShare,
  comparedShares,
  flowerShareRuns,
  flowerTrainingShare,
  shareFigures,
  synchronousTrainingShare,
  trainingShareSection,
  type ShareReport,
  type ShareRuns,
} from './training-share.js';

const round = (n: number, roundSeconds: number, slowest: number, accuracy = 0.5): RoundPoint => ({
  round: n,
  seconds: n,
  accuracy,
  roundSeconds,
  slowestClientSeconds: slowest,
  trainingStartedSeconds: n === 1 ? 0.5 : null,
});

const stage = (count: number, meanMs?: number) => ({ count, ...(meanMs === undefined ? {} : { meanMs }) });

describe('flowerTrainingShare', () => {
  it('is the slowest clients over the rounds after the first', () => {
    // Round 1 (connecting) would pull the share down to 1.4 / 3.6 were it counted.
    const points = [round(1, 2, 0.2), round(2, 1, 0.8), round(3, 0.6, 0.4)];
    expect(flowerTrainingShare(points)).toBeCloseTo(1.2 / 1.6, 12);
  });

  it('is null without a round after the first', () => {
    expect(flowerTrainingShare([round(1, 2, 0.2)])).toBeNull();
    expect(flowerTrainingShare([])).toBeNull();
  });
});

describe('synchronousTrainingShare', () => {
  it("is the critical path's training over the time between versions", () => {
    const report = {
      accuracyCurve: [],
      criticalPath: { training: stage(9, 80), 'between versions': stage(8, 100) },
    };
    expect(synchronousTrainingShare(report)).toBeCloseTo(0.8, 12);
  });

  it('is null when a report lacks the means, or no time passed between versions', () => {
    expect(synchronousTrainingShare({ accuracyCurve: [] })).toBeNull();
    const noMean = {
      accuracyCurve: [],
      criticalPath: { training: stage(9), 'between versions': stage(8, 100) },
    };
    expect(synchronousTrainingShare(noMean)).toBeNull();
    const zero = {
      accuracyCurve: [],
      criticalPath: { training: stage(9, 80), 'between versions': stage(8, 0) },
    };
    expect(synchronousTrainingShare(zero)).toBeNull();
  });
});

describe('bufferedTrainingShare', () => {
  const report = (training: { count: number; meanMs?: number }, wallSeconds?: number): ShareReport => ({
    accuracyCurve: [],
    trainingStartedSeconds: 2,
    roundTripStages: { training },
    ...(wallSeconds === undefined ? {} : { wallSeconds }),
  });

  it("is every update's training over the slots' time since the first lease", () => {
    // 4 slots for 10 s after the first lease at 2 s: 40 slot-seconds; 300 updates of 100 ms: 30.
    expect(bufferedTrainingShare(report(stage(300, 100), 12), 4)).toBeCloseTo(0.75, 12);
    // Twice the slots for the same training: half the share.
    expect(bufferedTrainingShare(report(stage(300, 100), 12), 8)).toBeCloseTo(0.375, 12);
  });

  it('is null without a mean, a wall time, or time since the first lease', () => {
    expect(bufferedTrainingShare(report(stage(300), 12), 4)).toBeNull();
    expect(bufferedTrainingShare(report(stage(300, 100)), 4)).toBeNull();
    expect(bufferedTrainingShare(report(stage(300, 100), 2), 4)).toBeNull();
  });
});

describe('shareFigures', () => {
  const runs = (label: string, entries: [number, number | null, number | null][]): ShareRuns => ({
    label,
    bySeed: new Map(entries.map(([seed, share, seconds]) => [seed, { share, seconds }])),
  });

  it("gives medians, each seed's time at its limit, and Flower's time over each", () => {
    const flower = runs('Flower', [
      [1, 0.9, 8],
      [2, 0.95, 10],
      [3, 0.9, 12],
    ]);
    const fedbuff = runs('FedBuff', [
      [1, 0.8, 4],
      [2, 0.5, 2],
      [3, 0.75, 4],
    ]);
    const [f, b] = shareFigures(flower, [fedbuff]);
    expect(f).toMatchObject({ label: 'Flower', seconds: 10, flowerOver: null, flowerOverAtLimit: null });
    expect(f?.share).toEqual({ median: 0.9, min: 0.9, max: 0.95 });
    expect(f?.secondsAtLimit).toBeCloseTo(9.5, 12); // 7.2, 9.5, 10.8
    expect(b?.share).toEqual({ median: 0.75, min: 0.5, max: 0.8 });
    expect(b?.seconds).toBe(4);
    expect(b?.secondsAtLimit).toBeCloseTo(3, 12); // 3.2, 1, 3
    expect(b?.flowerOver).toBeCloseTo(2.5, 12);
    expect(b?.flowerOverAtLimit).toBeCloseTo(10 / 3, 12);
  });

  it('gives no median time when a seed did not reach the target, and no share when none was reported', () => {
    const flower = runs('Flower', [
      [1, 0.9, 8],
      [2, 0.9, 10],
    ]);
    const partial = runs('FedAvg', [
      [1, null, 9],
      [2, null, null],
    ]);
    const [, a] = shareFigures(flower, [partial]);
    expect(a).toMatchObject({ share: null, seconds: null, secondsAtLimit: null, flowerOver: null });
  });
});

describe('comparedShares', () => {
  it("measures FedAvg on its critical path and FedBuff on its slots, by each run's strategy", () => {
    const curve = [{ accuracy: 0.5 }, { accuracy: 0.95, publishedTrainingSeconds: 4 }];
    const fedavg = {
      accuracyCurve: curve,
      criticalPath: { training: stage(10, 90), 'between versions': stage(9, 100) },
    };
    const fedbuff = {
      accuracyCurve: curve,
      wallSeconds: 11,
      trainingStartedSeconds: 1,
      roundTripStages: { training: stage(200, 100) },
    };
    const flower = flowerShareRuns(
      'Flower',
      [{ seed: 1, points: [round(1, 1, 0.5), round(2, 1, 0.9, 0.91)] }],
      0.9,
    );
    const figures = comparedShares(
      flower,
      [
        {
          suffix: ' (NumPy workers)',
          runs: [
            { strategy: 'fedavg', seed: 1, report: fedavg },
            { strategy: 'fedbuff', seed: 1, report: fedbuff },
          ],
        },
      ],
      4,
      0.9,
    );
    expect(figures.map((f) => f.label)).toEqual([
      'Flower',
      'Tributary fedavg (NumPy workers)',
      'Tributary fedbuff (NumPy workers)',
    ]);
    // Flower reached 0.91 at round 2: 2 s on its clock, 1.5 s after its first round's clients were chosen.
    expect(figures[0]).toMatchObject({ seconds: 1.5, share: { median: 0.9 } });
    expect(figures[1]?.share?.median).toBeCloseTo(0.9, 12);
    expect(figures[2]?.share?.median).toBeCloseTo(0.5, 12); // 20 s of training in 4 slots × 10 s
    expect(figures[2]?.flowerOverAtLimit).toBeCloseTo(1.5 / 2, 12);
  });
});

describe('trainingShareSection', () => {
  it('says which basis the limit is on and prints missing figures as dashes', () => {
    const figures = [
      {
        label: 'Flower',
        share: { median: 0.93, min: 0.9, max: 0.95 },
        seconds: 8.2,
        secondsAtLimit: 7.7,
        flowerOver: null,
        flowerOverAtLimit: null,
      },
      {
        label: 'FedBuff',
        share: null,
        seconds: null,
        secondsAtLimit: null,
        flowerOver: null,
        flowerOverAtLimit: null,
      },
    ];
    const device = trainingShareSection(figures, 0.9, true).join('\n');
    expect(device).toContain("the device's, whatever the host does");
    expect(device).toContain('| Flower | 0.93 (0.90–0.95) | 8.2 | 7.7 | — | — |');
    expect(device).toContain('| FedBuff | — | — | — | — | — |');
    expect(trainingShareSection(figures, 0.9, false).join('\n')).toContain(
      'waiting for one of the two cores',
    );
  });
});
