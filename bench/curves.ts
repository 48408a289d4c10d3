/** Accuracy curves from a coordinator's report, as bench tta, flower and fashion draw and read them. */

/** What a curve needs of a run's report (older reports lack publishedTrainingSeconds). */
export interface CurveReport {
  readonly accuracyCurve: readonly {
    version?: number;
    trainingSeconds?: number | null;
    publishedTrainingSeconds?: number | null;
    accuracy: number | null;
  }[];
}

/**
 * Accuracy against seconds since the first lease; version 0 (evaluated before it) sits at 0. By the
 * `evaluated` clock a point counts when its evaluation finished (bench tta's statistic); by the
 * `published` clock when its version was committed (Flower's curve counts a round when its model
 * exists), which older reports without it fall back from.
 */
export function trainingCurve(
  report: CurveReport,
  clock: 'evaluated' | 'published' = 'evaluated',
): { x: number; y: number }[] {
  return report.accuracyCurve.map((p) => {
    const seconds =
      clock === 'published' ? (p.publishedTrainingSeconds ?? p.trainingSeconds) : p.trainingSeconds;
    return { x: Math.max(0, seconds ?? 0), y: p.accuracy ?? 0 };
  });
}

/** Where `curve` first reaches `target` (its x), or null if it never does. */
export function firstReaching(curve: readonly { x: number; y: number }[], target: number): number | null {
  return curve.find((p) => p.y >= target)?.x ?? null;
}

/**
 * When each version on the curve was committed, in seconds since the first lease (the published
 * clock). A version the curve lacks (central evaluation skipped it, or the run ended before it) or
 * with no time (version 0, before the first lease) is not in the map.
 */
export function versionSeconds(report: CurveReport): Map<number, number> {
  const at = new Map<number, number>();
  for (const p of report.accuracyCurve) {
    const seconds = p.publishedTrainingSeconds ?? p.trainingSeconds;
    if (p.version !== undefined && seconds !== null && seconds !== undefined) at.set(p.version, seconds);
  }
  return at;
}
