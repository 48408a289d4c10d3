/** flower.md's table of when each system reached version (round) n. */
import { median, table } from '../common.js';
import { versionSeconds } from '../curves.js';
import type { TtaResult } from './report.js';
import { trainingStart, type RoundPoint } from './round-points.js';

/** The versions (rounds) at which flower.md sets the two clocks side by side. */
const MILESTONES = [1, 2, 3, 5, 10, 20, 30, 50, 100];
/** Each system's pace once started: ms a version between these two. */
const [PACE_FROM, PACE_TO] = [10, 100];

/**
 * When each system reached version (round) n, median over seeds: where a deficit builds up (the
 * first rounds, or every round) and each one's pace once started.
 */
export function versionTimes(
  flowerRuns: readonly { seed: number; points: RoundPoint[] }[],
  tributary: readonly { suffix: string; runs: TtaResult['runs'] }[],
  flowerLabel: string,
): string {
  // A median over at least half the seeds (a version central evaluation skipped is not on a curve).
  const medianMs = (xs: readonly (number | null)[]) => {
    const known = xs.filter((x): x is number => x !== null);
    return known.length * 2 >= xs.length && known.length > 0 ? Math.round(median(known) * 1000) : null;
  };
  const pace = (at: (n: number) => number | null) => {
    const [from, to] = [at(PACE_FROM), at(PACE_TO)];
    return from === null || to === null ? null : (to - from) / (PACE_TO - PACE_FROM);
  };
  const row = (label: string, perSeed: ((n: number) => number | null)[]) => [
    label,
    ...MILESTONES.map((n) => medianMs(perSeed.map((at) => at(n)))),
    medianMs(perSeed.map(pace)),
  ];
  const flowerAt = flowerRuns.map((r) => (n: number) => {
    const point = r.points.find((p) => p.round === n);
    return point ? point.seconds - trainingStart(r.points) : null;
  });
  const rows = [row(flowerLabel, flowerAt)];
  for (const { suffix, runs } of tributary)
    for (const strategy of ['fedavg', 'fedbuff']) {
      const mine = runs.filter((r) => r.strategy === strategy);
      if (mine.length === 0) continue;
      const perSeed = mine.map((r) => {
        const seconds = versionSeconds(r.report);
        return (n: number) => seconds.get(n) ?? null;
      });
      rows.push(row(`Tributary ${strategy}${suffix}`, perSeed));
    }
  return [
    "When each reached version (round) n, ms from the first task, median over seeds (a version counts when committed; '—' where fewer than half the seeds evaluated it), and the pace from the 10th to the 100th. A FedAvg version is a round; a FedBuff version folds K = 2 updates, half a round's:",
    '',
    table(
      ['system', ...MILESTONES.map(String), `ms a version, ${PACE_FROM}th to ${PACE_TO}th`],
      rows.map((cells) => cells.map((c) => (c === null ? '—' : c))),
    ),
  ].join('\n');
}
