/** runs/<run-id>/report.json and accuracy.png/.html: what a finished (or stopped) run achieved. */
import type { CriticalStage, Stage, StageSummary, VersionPath } from './stages.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLineChart } from '../../lib/chart.js';
import type { CoordinatorConfig } from './config.js';
import type { AccuracyPoint, RunMetrics } from './metrics.js';
import type { FederatedEvaluationPoint, SiloStaleness } from './silo-metrics.js';

export interface RunReport {
  runId: string;
  strategy: string;
  finalAccuracy: number | null;
  targetAccuracy: number | null;
  secondsToTarget: number | null;
  /** Seconds from the coordinator's start to the first task leased: start-up, not training. */
  trainingStartedSeconds: number | null;
  wallSeconds: number;
  versions: number;
  updatesAccepted: number;
  updatesLate: number;
  updatesRejected: number;
  rejectionsByCode: Record<string, number>;
  meanStaleness: number;
  stalenessCounts: Record<number, number>;
  leasesIssued: number;
  leasesExpired: number;
  backend: string;
  workers: { workerId: string; silo: string; numExamples: number; backend: string }[];
  stopReason: string | null;
  aggregation: CoordinatorConfig['aggregation'];
  training: CoordinatorConfig['training'];
  /** Means of the folded updates' metrics (loss, a task's own), example-weighted. */
  trainingMetrics: Record<string, number>;
  /** Every central evaluation: accuracy (null without one), loss and the task's metrics. */
  accuracyCurve: AccuracyPoint[];
  /** Staleness of the folded updates, per silo of the worker that sent them. */
  stalenessBySilo: Record<string, SiloStaleness>;
  /** Every closed federated-evaluation round, per silo and overall (empty when it is off). */
  federatedEvaluation: FederatedEvaluationPoint[];
  /** A task's round trip, stage by stage: median, 90th percentile and mean ms (./stages.ts). */
  roundTripStages: Record<Stage, StageSummary>;
  /** The update that completed each version, stage by stage, and the time between versions (./stages.ts). */
  criticalPath: Record<CriticalStage, StageSummary>;
  /** The first versions' critical paths one by one, ms: start-up's share of time to accuracy. */
  firstVersions: readonly VersionPath[];
}

export function buildReport(
  config: CoordinatorConfig,
  metrics: RunMetrics,
  nowMs: number,
  backend: string,
  workers: RunReport['workers'],
  versions: number,
): RunReport {
  return {
    runId: config.runId,
    strategy: config.strategyName,
    finalAccuracy: metrics.accuracy.at(-1)?.accuracy ?? null,
    targetAccuracy: config.targetAccuracy,
    secondsToTarget: metrics.secondsToTarget,
    trainingStartedSeconds:
      metrics.firstLeaseAtMs === null ? null : (metrics.firstLeaseAtMs - metrics.startedAtMs) / 1000,
    wallSeconds: ((metrics.finishedAtMs ?? nowMs) - metrics.startedAtMs) / 1000,
    versions,
    updatesAccepted: metrics.updatesAccepted,
    updatesLate: metrics.updatesLate,
    updatesRejected: metrics.updatesRejected,
    rejectionsByCode: metrics.rejectionsByCode,
    meanStaleness: metrics.meanStaleness(),
    stalenessCounts: metrics.stalenessCounts,
    leasesIssued: metrics.leasesIssued,
    leasesExpired: metrics.leasesExpired,
    backend,
    workers,
    stopReason: metrics.stopReason,
    aggregation: config.aggregation,
    training: config.training,
    trainingMetrics: metrics.trainingMetrics(),
    accuracyCurve: metrics.accuracy,
    stalenessBySilo: metrics.silos.stalenessBySilo(),
    federatedEvaluation: metrics.silos.rounds,
    roundTripStages: metrics.stages.summary(),
    criticalPath: metrics.stages.criticalPath(),
    firstVersions: metrics.stages.firstVersionPaths(),
  };
}

export function writeReport(dir: string, report: RunReport): { json: string; chart: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'report.json');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  // Accuracy when the task has it; otherwise (regression) the test loss.
  const byAccuracy = report.accuracyCurve.some((p) => p.accuracy !== null);
  const { png } = writeLineChart(join(dir, 'accuracy'), {
    title: `Tributary ${report.runId}: test ${byAccuracy ? 'accuracy' : 'loss'} against wall time`,
    xLabel: 'wall time (s)',
    yLabel: byAccuracy ? 'test accuracy' : 'test loss',
    ...(byAccuracy ? { yMin: 0, yMax: 1 } : {}),
    series: [
      {
        label: report.strategy,
        points: report.accuracyCurve.map((p) => ({
          x: p.seconds,
          y: (byAccuracy ? p.accuracy : p.loss) ?? 0,
        })),
      },
    ],
    horizontalLines:
      report.targetAccuracy === null
        ? []
        : [{ y: report.targetAccuracy, label: `target ${report.targetAccuracy}` }],
    notes: [
      `final accuracy ${report.finalAccuracy?.toFixed(4)}; seconds to target ${report.secondsToTarget?.toFixed(1) ?? 'not reached'}`,
      `${report.versions} versions, ${report.updatesAccepted} updates folded (${report.updatesLate} late), ${report.updatesRejected} rejected, mean staleness ${report.meanStaleness.toFixed(2)}`,
      `backend ${report.backend}; ${report.workers.length} workers`,
      `round trip, median ms: ${Object.entries(report.roundTripStages)
        .filter(([, s]) => s.count > 0)
        .map(([stage, s]) => `${stage} ${s.medianMs.toFixed(0)}`)
        .join(', ')}`,
    ],
  });
  if (report.federatedEvaluation.length > 0) writeSiloChart(join(dir, 'federated-evaluation'), report);
  return { json, chart: png };
}

/** Each silo's accuracy (or loss) on its own holdout, round by round: federated evaluation. */
function writeSiloChart(base: string, report: RunReport): void {
  const rounds = report.federatedEvaluation;
  const silos = [...new Set(rounds.flatMap((r) => Object.keys(r.silos)))].sort().slice(0, 24);
  const byAccuracy = rounds.some((r) => r.overall.accuracy !== null);
  const value = (a: { accuracy: number | null; loss: number }) => (byAccuracy ? a.accuracy : a.loss);
  const points = (
    pick: (r: (typeof rounds)[number]) => { accuracy: number | null; loss: number } | undefined,
  ) =>
    rounds.flatMap((r) => {
      const a = pick(r);
      const y = a ? value(a) : null;
      return y === null ? [] : [{ x: r.seconds, y }];
    });
  writeLineChart(base, {
    title: 'Federated evaluation: each silo on its own holdout',
    xLabel: 'wall time (s)',
    yLabel: byAccuracy ? 'accuracy' : 'loss',
    ...(byAccuracy ? { yMin: 0, yMax: 1 } : {}),
    series: [
      { label: 'all silos', points: points((r) => r.overall) },
      ...silos.map((silo) => ({ label: silo, dashed: true, points: points((r) => r.silos[silo]) })),
    ],
    notes: [
      `run ${report.runId}: ${rounds.length} rounds, each plotted when it opened; staleness per silo: ${Object.entries(
        report.stalenessBySilo,
      )
        .map(([silo, s]) => `${silo} ${s.meanStaleness.toFixed(1)}`)
        .join(', ')}`,
    ],
  });
}
