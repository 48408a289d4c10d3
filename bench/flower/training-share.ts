/**
 * How close each system ran to its devices' limit, for bench flower: the share of its time the
 * devices it waited for spent training. The rest is orchestration (leases, transport, folds, steps,
 * evaluation on the path), the only part a faster system can remove. A system's time at the limit
 * is its measured time × its share, which bounds how far orchestration alone could move a ratio.
 */
import { median, table } from '../common.js';
import { firstReaching, trainingCurve, type CurveReport } from '../curves.js';
import { type RoundPoint, trainingStart } from './round-points.js';

type StageMeans = Record<string, { count: number; meanMs?: number } | undefined>;

/** What a share needs of a Tributary run's report (older reports lack meanMs and give null). */
export interface ShareReport extends CurveReport {
  readonly wallSeconds?: number;
  readonly trainingStartedSeconds?: number | null;
  readonly roundTripStages?: StageMeans;
  readonly criticalPath?: StageMeans;
}

/**
 * Flower's rounds after the first (whose wall time includes connecting): each round's slowest
 * client's training and delay over the round's wall time.
 */
export function flowerTrainingShare(points: readonly RoundPoint[]): number | null {
  const later = points.filter((p) => p.round > 1);
  const wall = sum(later.map((p) => p.roundSeconds));
  return wall > 0 ? sum(later.map((p) => p.slowestClientSeconds)) / wall : null;
}

/**
 * Synchronous FedAvg: each version waits for its slowest update's training, then orchestration (the
 * critical path's stages), so the share is training's mean over the mean time between versions.
 */
export function synchronousTrainingShare(report: ShareReport): number | null {
  const training = report.criticalPath?.training?.meanMs;
  const between = report.criticalPath?.['between versions']?.meanMs;
  return training !== undefined && between !== undefined && between > 0 ? training / between : null;
}

/**
 * FedBuff: `concurrency` slots, each training while a task is out, so the share is the training
 * time of every folded update over the slots' time since the first lease. Updates still training
 * when the run stopped are not counted: low by at most one task per slot over the run.
 */
export function bufferedTrainingShare(report: ShareReport, concurrency: number): number | null {
  const training = report.roundTripStages?.training;
  if (training?.meanMs === undefined || report.wallSeconds === undefined) return null;
  const slotMs = concurrency * (report.wallSeconds - (report.trainingStartedSeconds ?? 0)) * 1000;
  return slotMs > 0 ? (training.meanMs * training.count) / slotMs : null;
}

/** One system's runs, by seed: its training share and its seconds to the target (null: not reached). */
export interface ShareRuns {
  readonly label: string;
  readonly bySeed: ReadonlyMap<number, { share: number | null; seconds: number | null }>;
}

/** Flower's runs as ShareRuns: seconds from the first round's clients chosen to `target`. */
export function flowerShareRuns(
  label: string,
  runs: readonly { seed: number; points: RoundPoint[] }[],
  target: number,
): ShareRuns {
  const seconds = (points: RoundPoint[]) => {
    const p = points.find((x) => x.accuracy >= target);
    return p ? p.seconds - trainingStart(points) : null;
  };
  return {
    label,
    bySeed: new Map(
      runs.map((r) => [r.seed, { share: flowerTrainingShare(r.points), seconds: seconds(r.points) }]),
    ),
  };
}

/** A Tributary strategy's runs as ShareRuns: seconds to `target` by the published clock. */
export function tributaryShareRuns(
  label: string,
  runs: readonly { seed: number; report: ShareReport }[],
  share: (report: ShareReport) => number | null,
  target: number,
): ShareRuns {
  return {
    label,
    bySeed: new Map(
      runs.map((r) => [
        r.seed,
        {
          share: share(r.report),
          seconds: firstReaching(trainingCurve(r.report, 'published'), target),
        },
      ]),
    ),
  };
}

export interface ShareFigures {
  readonly label: string;
  /** Median share over runs, and its range. */
  readonly share: { median: number; min: number; max: number } | null;
  /** Median over seeds of the seconds to the target, measured and at the devices' limit. */
  readonly seconds: number | null;
  readonly secondsAtLimit: number | null;
  /** Flower's measured median over this system's, measured and with this system at its limit. */
  readonly flowerOver: number | null;
  readonly flowerOverAtLimit: number | null;
}

/**
 * Each system's share and times, and Flower's measured time over each one's, as measured and at its
 * limit. A median needs every seed to have reached the target with a share (else null).
 */
export function shareFigures(flower: ShareRuns, systems: readonly ShareRuns[]): ShareFigures[] {
  const medianOf = (xs: readonly (number | null)[]) =>
    xs.length > 0 && xs.every((x) => x !== null) ? median(xs as number[]) : null;
  const figures = (s: ShareRuns) => {
    const runs = [...s.bySeed.values()];
    const shares = runs.map((r) => r.share).filter((x): x is number => x !== null);
    return {
      label: s.label,
      share:
        shares.length > 0
          ? { median: median(shares), min: Math.min(...shares), max: Math.max(...shares) }
          : null,
      seconds: medianOf(runs.map((r) => r.seconds)),
      secondsAtLimit: medianOf(
        runs.map((r) => (r.seconds === null || r.share === null ? null : r.seconds * r.share)),
      ),
    };
  };
  const flowerFigures = figures(flower);
  const over = (x: number | null) =>
    flowerFigures.seconds === null || x === null || x <= 0 ? null : flowerFigures.seconds / x;
  return [flowerFigures, ...systems.map(figures)].map((f, i) => ({
    ...f,
    flowerOver: i === 0 ? null : over(f.seconds),
    flowerOverAtLimit: i === 0 ? null : over(f.secondsAtLimit),
  }));
}

/** flower.md's section: the figures as a table, with what they mean on this delay basis. */
export function trainingShareSection(
  figures: readonly ShareFigures[],
  target: number,
  deviceBasis: boolean,
): string[] {
  const fixed = (x: number | null, digits: number, suffix = '') =>
    x === null ? '—' : `${x.toFixed(digits)}${suffix}`;
  return [
    `How close each system ran to its devices' limit: the share of its time the devices it waited for spent training (Flower: each round's slowest client over the round, after the first; Tributary FedAvg: the critical path's training over the time between versions; FedBuff: its slots' training time over their time since the first lease). The rest is orchestration, the only part a faster system can remove: at the limit a system takes its time × its share, so "Flower ÷ at the limit" bounds how far orchestration alone could take the ratio (Flower as measured). Seconds to ${target.toFixed(2)} by the first evaluation, medians over seeds. ${
      deviceBasis
        ? "Here each client is a device of its own: its training time is the device's, whatever the host does."
        : 'Here the training times include waiting for one of the two cores, which orchestration competes for: the limit is looser than on the device basis.'
    } Under FedBuff a shorter wait also changes which updates meet in a version, so the limit bounds the pace, not the path:`,
    '',
    table(
      [
        'system',
        'share of time training: median (range)',
        `s to ${target.toFixed(2)}`,
        'the same at the limit',
        'Flower ÷ measured',
        'Flower ÷ at the limit',
      ],
      figures.map((f) => [
        f.label,
        f.share ? `${f.share.median.toFixed(2)} (${f.share.min.toFixed(2)}–${f.share.max.toFixed(2)})` : '—',
        fixed(f.seconds, 1),
        fixed(f.secondsAtLimit, 1),
        fixed(f.flowerOver, 2, '×'),
        fixed(f.flowerOverAtLimit, 2, '×'),
      ]),
    ),
  ];
}

/**
 * Flower's runs and each Tributary run's strategies (FedAvg, and FedBuff with `concurrency` slots)
 * as shareFigures.
 */
export function comparedShares(
  flower: ShareRuns,
  tributary: readonly {
    suffix: string;
    runs: readonly { strategy: string; seed: number; report: ShareReport }[];
  }[],
  concurrency: number,
  target: number,
): ShareFigures[] {
  const shares = {
    fedavg: synchronousTrainingShare,
    fedbuff: (report: ShareReport) => bufferedTrainingShare(report, concurrency),
  };
  return shareFigures(
    flower,
    tributary.flatMap(({ suffix, runs }) =>
      Object.entries(shares).map(([strategy, share]) =>
        tributaryShareRuns(
          `Tributary ${strategy}${suffix}`,
          runs.filter((r) => r.strategy === strategy),
          share,
          target,
        ),
      ),
    ),
  );
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
