/** A Flower run's curve as bench/flower/run.py writes it, a line per round, and its clock. */

export interface RoundPoint {
  round: number;
  seconds: number;
  accuracy: number;
  roundSeconds: number;
  slowestClientSeconds: number;
  /** Seconds from the server's start to the first round's clients being sent the model. */
  trainingStartedSeconds: number | null;
  /** When the server's clock (`seconds`) started, epoch ms; absent in curves saved before. */
  startedAtMs?: number;
}

/** Seconds since training started (the first round's clients chosen), as bench tta counts. */
export function trainingStart(points: readonly RoundPoint[]): number {
  return points.find((p) => p.trainingStartedSeconds !== null)?.trainingStartedSeconds ?? 0;
}
