/**
 * A task's round trip, stage by stage, from the times its lease, its update's records and the
 * steps carry:
 *   task delivered  lease issued → the worker has the task        (update timings, v3)
 *   model ready     task received → its base model ready          (update timings, v3)
 *   training        training started → finished (with any simulated delay)
 *   encoded         training finished → the update's record created (record timestamp)
 *   in Kafka        record created → the coordinator has it whole
 *   folded          whole → folded (decode, checks, the fold, and the queue before them)
 *   step            last fold of a version → its step committed (the transaction)
 *   evaluation      the central evaluation of a new version (after its step and the next leases)
 *   next lease      step committed → the first task on the new version leased
 * Pure: every time is passed in. Worker times cross a process (a machine, in production): a clock
 * offset between them shows in the stages either side of it. Times that cannot be (negative, or
 * over an hour) are not counted: a worker's fields can lie. Each stage keeps its last 4,096
 * samples, so memory stays bounded over any run.
 */
import type { ModelUpdate } from '../../lib/wire/schemas.js';

export const STAGES = [
  'task delivered',
  'model ready',
  'training',
  'encoded',
  'in Kafka',
  'folded',
  'step',
  'evaluation',
  'next lease',
] as const;
export type Stage = (typeof STAGES)[number];

export interface StageSummary {
  readonly count: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly meanMs: number;
}

const KEEP = 4096;
const MAX_PLAUSIBLE_MS = 60 * 60_000;
/** Versions whose commit time is kept for the `next lease` stage. */
const VERSIONS_KEPT = 64;

export interface FoldedTimes {
  /** When the update's lease was issued (absent for a late update whose lease had gone). */
  readonly leaseIssuedAtMs: number | undefined;
  readonly timings: ModelUpdate['timings'];
  /** The timestamp of the update's last record (the producer's create time). */
  readonly recordCreatedAtMs: number;
  readonly wholeAtMs: number;
  readonly foldedAtMs: number;
}

export class RoundTripStages {
  private readonly samples = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  private readonly next = new Map<Stage, number>();
  private readonly committedAt = new Map<number, number>();
  private readonly firstLeased = new Set<number>();

  private add(stage: Stage, from: number | null | undefined, to: number | null | undefined): void {
    if (from === null || from === undefined || to === null || to === undefined) return;
    const ms = to - from;
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_PLAUSIBLE_MS) return;
    const kept = this.samples.get(stage) as number[];
    const at = this.next.get(stage) ?? 0;
    kept[at % KEEP] = ms;
    this.next.set(stage, at + 1);
  }

  folded(t: FoldedTimes): void {
    this.add('task delivered', t.leaseIssuedAtMs, t.timings.taskReceivedAtMs);
    this.add('model ready', t.timings.taskReceivedAtMs, t.timings.modelReadyAtMs);
    this.add('training', t.timings.startedAtMs, t.timings.finishedAtMs);
    this.add('encoded', t.timings.finishedAtMs, t.recordCreatedAtMs);
    this.add('in Kafka', t.recordCreatedAtMs, t.wholeAtMs);
    this.add('folded', t.wholeAtMs, t.foldedAtMs);
  }

  stepCommitted(version: number, lastFoldAtMs: number, committedAtMs: number): void {
    this.add('step', lastFoldAtMs, committedAtMs);
    this.committedAt.set(version, committedAtMs);
    if (this.committedAt.size > VERSIONS_KEPT) {
      const oldest = this.committedAt.keys().next().value as number;
      this.committedAt.delete(oldest);
      this.firstLeased.delete(oldest);
    }
  }

  evaluated(startedAtMs: number, finishedAtMs: number): void {
    this.add('evaluation', startedAtMs, finishedAtMs);
  }

  /** A lease on `baseVersion` issued: the first one after its step counts. */
  leaseIssued(baseVersion: number, issuedAtMs: number): void {
    if (this.firstLeased.has(baseVersion)) return;
    const committed = this.committedAt.get(baseVersion);
    if (committed === undefined) return;
    this.firstLeased.add(baseVersion);
    this.add('next lease', committed, issuedAtMs);
  }

  summary(): Record<Stage, StageSummary> {
    return Object.fromEntries(
      STAGES.map((stage) => {
        const xs = [...(this.samples.get(stage) as number[])].sort((a, b) => a - b);
        const n = xs.length;
        const at = (i: number) => xs[Math.max(0, Math.min(n - 1, i))] ?? 0;
        const median = n % 2 === 1 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
        const mean = n ? xs.reduce((a, b) => a + b, 0) / n : 0;
        return [stage, { count: n, medianMs: median, p90Ms: at(Math.ceil(0.9 * n) - 1), meanMs: mean }];
      }),
    ) as Record<Stage, StageSummary>;
  }
}
