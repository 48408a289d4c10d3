/**
 * A task's round trip, stage by stage, from the times its lease, its update's records and the
 * steps carry:
 *   task delivered  lease issued → the worker has the task        (update timings, v3)
 *   model ready     task received → its base model ready          (update timings, v3)
 *   training        training started → finished (with any simulated delay)
 *   encoded         training finished → the update's record created (record timestamp)
 *   in Kafka        record created → the coordinator's consumer hands it over (its last record's)
 *   queued          handed over → the coordinator's lane takes it whole (behind steps, leases,
 *                   check-ins: the lane does one thing at a time)
 *   folded          whole → folded (decode, checks, the fold)
 *   step            last fold of a version → its step committed (the transaction)
 *   evaluation      the central evaluation of a new version (after its step and the next leases)
 *   next lease      step committed → the first task on the new version leased
 * The medians say what a typical update spends where; they do not say what a version waits for. So
 * the update that completed each version (its last fold) is also kept apart, as that version's
 * critical path: how long after its base version's commit it was leased, its own stages, and the
 * step, beside the time between the two commits. Under synchronous FedAvg (the base is the previous
 * version) the path's stages add up to the time between versions, so the slowest stage is what to
 * make faster; under FedBuff an update can be leased before the previous version, so they need not.
 * The first FIRST_VERSIONS_KEPT versions' paths are also kept one by one: start-up (first sends,
 * connections, caches) shows there and is lost in the medians, yet it counts in time to accuracy.
 * Pure: every time is passed in. Worker times cross a process (a machine, in production): a clock
 * offset between them shows in the stages either side of it. Times that cannot be (negative, or
 * over an hour) are not counted: a worker's fields can lie. Each stage keeps its last 4,096
 * samples, so memory stays bounded over any run.
 */
import type { ModelUpdate } from '../../lib/wire/schemas.js';

/** The stages of one update, from its lease to its fold. */
const UPDATE_STAGES = [
  'task delivered',
  'model ready',
  'training',
  'encoded',
  'in Kafka',
  'queued',
  'folded',
] as const;
type UpdateStage = (typeof UPDATE_STAGES)[number];

export const STAGES = [...UPDATE_STAGES, 'step', 'evaluation', 'next lease'] as const;
export type Stage = (typeof STAGES)[number];

/** A version's critical path: the update that completed it, from its lease to the step, and the interval. */
export const CRITICAL_STAGES = ['leased', ...UPDATE_STAGES, 'step', 'between versions'] as const;
export type CriticalStage = (typeof CRITICAL_STAGES)[number];

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
/** Versions whose critical path is also kept whole: start-up shows there, not in the medians. */
export const FIRST_VERSIONS_KEPT = 8;

/** One version's critical path in ms (a stage is absent when its times were missing or implausible). */
export interface VersionPath {
  readonly version: number;
  readonly stages: Partial<Record<CriticalStage, number>>;
}

export interface FoldedTimes {
  /** When the update's lease was issued (absent for a late update whose lease had gone). */
  readonly leaseIssuedAtMs: number | undefined;
  readonly timings: ModelUpdate['timings'];
  /** The timestamp of the update's last record (the producer's create time). */
  readonly recordCreatedAtMs: number;
  /** When the coordinator's consumer handed the update's last record over. */
  readonly fetchedAtMs: number;
  readonly wholeAtMs: number;
  readonly foldedAtMs: number;
  /** The version the update was trained from (for the critical path's `leased`). */
  readonly baseVersion?: number;
}

function plausibleMs(from: number | null | undefined, to: number | null | undefined): number | undefined {
  if (from === null || from === undefined || to === null || to === undefined) return undefined;
  const ms = to - from;
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_PLAUSIBLE_MS ? ms : undefined;
}

/** Where an update's stages go: every update's samples, the critical path's, or one version's path. */
interface StageSink<S extends string> {
  add(stage: S, from: number | null | undefined, to: number | null | undefined): void;
}

/** One version's stages, as StageSamples takes them. */
class OnePath {
  readonly stages: Partial<Record<CriticalStage, number>> = {};
  add(stage: CriticalStage, from: number | null | undefined, to: number | null | undefined): void {
    const ms = plausibleMs(from, to);
    if (ms !== undefined) this.stages[stage] = ms;
  }
}

/** Keeps the last KEEP plausible durations of each of a set of stages. */
class StageSamples<S extends string> {
  private readonly samples: Map<S, number[]>;
  private readonly next = new Map<S, number>();

  constructor(private readonly stages: readonly S[]) {
    this.samples = new Map(stages.map((s) => [s, []]));
  }

  add(stage: S, from: number | null | undefined, to: number | null | undefined): void {
    const ms = plausibleMs(from, to);
    if (ms === undefined) return;
    const kept = this.samples.get(stage) as number[];
    const at = this.next.get(stage) ?? 0;
    kept[at % KEEP] = ms;
    this.next.set(stage, at + 1);
  }

  summary(): Record<S, StageSummary> {
    return Object.fromEntries(
      this.stages.map((stage) => {
        const xs = [...(this.samples.get(stage) as number[])].sort((a, b) => a - b);
        const n = xs.length;
        const at = (i: number) => xs[Math.max(0, Math.min(n - 1, i))] ?? 0;
        const median = n % 2 === 1 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
        const mean = n ? xs.reduce((a, b) => a + b, 0) / n : 0;
        return [stage, { count: n, medianMs: median, p90Ms: at(Math.ceil(0.9 * n) - 1), meanMs: mean }];
      }),
    ) as Record<S, StageSummary>;
  }
}

export class RoundTripStages {
  private readonly stages = new StageSamples<Stage>(STAGES);
  private readonly critical = new StageSamples<CriticalStage>(CRITICAL_STAGES);
  private readonly committedAt = new Map<number, number>();
  private readonly firstLeased = new Set<number>();
  private readonly firstVersions: VersionPath[] = [];
  /** The latest fold, the one that completes the version if a step follows it. */
  private lastFold: FoldedTimes | null = null;

  folded(t: FoldedTimes): void {
    this.addUpdate(this.stages, t);
    this.lastFold = t;
  }

  private addUpdate(into: StageSink<UpdateStage>, t: FoldedTimes): void {
    into.add('task delivered', t.leaseIssuedAtMs, t.timings.taskReceivedAtMs);
    into.add('model ready', t.timings.taskReceivedAtMs, t.timings.modelReadyAtMs);
    into.add('training', t.timings.startedAtMs, t.timings.finishedAtMs);
    into.add('encoded', t.timings.finishedAtMs, t.recordCreatedAtMs);
    into.add('in Kafka', t.recordCreatedAtMs, t.fetchedAtMs);
    into.add('queued', t.fetchedAtMs, t.wholeAtMs);
    into.add('folded', t.wholeAtMs, t.foldedAtMs);
  }

  stepCommitted(version: number, lastFoldAtMs: number, committedAtMs: number): void {
    this.stages.add('step', lastFoldAtMs, committedAtMs);
    const completing = this.lastFold;
    this.lastFold = null;
    const keepWhole = this.firstVersions.length < FIRST_VERSIONS_KEPT ? new OnePath() : null;
    for (const into of keepWhole ? [this.critical, keepWhole] : [this.critical]) {
      if (completing && completing.foldedAtMs === lastFoldAtMs) {
        this.addUpdate(into, completing);
        const base = completing.baseVersion;
        into.add(
          'leased',
          base === undefined ? undefined : this.committedAt.get(base),
          completing.leaseIssuedAtMs,
        );
        into.add('step', lastFoldAtMs, committedAtMs);
      }
      into.add('between versions', this.committedAt.get(version - 1), committedAtMs);
    }
    if (keepWhole) this.firstVersions.push({ version, stages: keepWhole.stages });
    this.committedAt.set(version, committedAtMs);
    if (this.committedAt.size > VERSIONS_KEPT) {
      const oldest = this.committedAt.keys().next().value as number;
      this.committedAt.delete(oldest);
      this.firstLeased.delete(oldest);
    }
  }

  evaluated(startedAtMs: number, finishedAtMs: number): void {
    this.stages.add('evaluation', startedAtMs, finishedAtMs);
  }

  /** A lease on `baseVersion` issued: the first one after its step counts. */
  leaseIssued(baseVersion: number, issuedAtMs: number): void {
    if (this.firstLeased.has(baseVersion)) return;
    const committed = this.committedAt.get(baseVersion);
    if (committed === undefined) return;
    this.firstLeased.add(baseVersion);
    this.stages.add('next lease', committed, issuedAtMs);
  }

  summary(): Record<Stage, StageSummary> {
    return this.stages.summary();
  }

  /** The critical paths of the first FIRST_VERSIONS_KEPT versions stepped, one by one. */
  firstVersionPaths(): readonly VersionPath[] {
    return this.firstVersions;
  }

  /** Each version's critical path (see the top of this file), stage by stage. */
  criticalPath(): Record<CriticalStage, StageSummary> {
    return this.critical.summary();
  }
}
