/**
 * Per-silo figures of a run: staleness of the updates each silo's workers sent, and every closed
 * federated-evaluation round (per silo and overall). Bounded: silo names come from check-ins,
 * which any client can send, so at most MAX_SILOS are tracked and the rest are counted together.
 */
import type { EvaluationAggregate, RoundResult } from '../../lib/core/evaluation.js';

const MAX_SILOS = 10_000;
const MAX_ROUNDS = 2_000;
const OTHER = '(other silos)';

export interface SiloStaleness {
  readonly updates: number;
  readonly late: number;
  readonly meanStaleness: number;
  readonly maxStaleness: number;
}

export interface FederatedEvaluationPoint {
  readonly version: number;
  /** Seconds from the coordinator's start to the round's opening (when the version was asked about). */
  readonly seconds: number;
  /** When the round opened and when it closed (a worker offline for a while holds a round open). */
  readonly openedAtMs: number;
  readonly atMs: number;
  readonly closedBy: RoundResult['closedBy'];
  readonly asked: number;
  readonly answered: number;
  readonly missingSilos: readonly string[];
  readonly overall: EvaluationAggregate;
  readonly silos: Readonly<Record<string, EvaluationAggregate>>;
}

export class SiloMetrics {
  private readonly staleness = new Map<string, { updates: number; late: number; sum: number; max: number }>();
  readonly rounds: FederatedEvaluationPoint[] = [];
  roundsDropped = 0;

  constructor(private readonly startedAtMs: number) {}

  folded(silo: string, staleness: number, late: boolean): void {
    const key = this.staleness.has(silo) || this.staleness.size < MAX_SILOS ? silo : OTHER;
    const s = this.staleness.get(key) ?? { updates: 0, late: 0, sum: 0, max: 0 };
    s.updates += 1;
    s.late += late ? 1 : 0;
    s.sum += staleness;
    s.max = Math.max(s.max, staleness);
    this.staleness.set(key, s);
  }

  federatedRound(round: RoundResult): void {
    this.rounds.push({
      version: round.version,
      seconds: (round.openedAtMs - this.startedAtMs) / 1000,
      openedAtMs: round.openedAtMs,
      atMs: round.closedAtMs,
      closedBy: round.closedBy,
      asked: round.asked,
      answered: round.answered,
      missingSilos: round.missingSilos,
      overall: round.overall,
      silos: round.silos,
    });
    if (this.rounds.length > MAX_ROUNDS) {
      this.rounds.shift();
      this.roundsDropped += 1;
    }
  }

  stalenessBySilo(): Record<string, SiloStaleness> {
    return Object.fromEntries(
      [...this.staleness.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([silo, s]) => [
          silo,
          { updates: s.updates, late: s.late, meanStaleness: s.sum / s.updates, maxStaleness: s.max },
        ]),
    );
  }
}
