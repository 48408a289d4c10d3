/**
 * The sensor-fleet run's figures from the coordinators' reports: per plant, recall on the fault
 * that appeared at plant-0 and accuracy over time, federated against training alone; staleness
 * per plant. Charts as PNG and HTML.
 */
import { join } from 'node:path';
import { writeLineChart, type RunReport, type Series } from 'tributary/testing';
import { CONDITIONS } from './physics.js';

const NEW_FAULT = 'inner-race';
const NEW_FAULT_CLASS = CONDITIONS.indexOf(NEW_FAULT);

interface Point {
  readonly seconds: number;
  readonly recall: number | null;
  readonly accuracy: number | null;
}

export interface PlantFigures {
  readonly plant: string;
  /** Whether the plant's own stream ever held the new fault. */
  readonly sawNewFaultLocally: boolean;
  readonly federated: Figures;
  readonly alone: Figures | null;
  readonly staleness: RunReport['stalenessBySilo'][string] | null;
}

interface Figures {
  /** Means over the plant's last three evaluations. */
  readonly newFaultRecallAtEnd: number | null;
  readonly accuracyAtEnd: number | null;
  /** Seconds after the fault's appearance until the plant's recall on it first reached 0.5. */
  readonly secondsToRecall50: number | null;
  readonly rounds: number;
  readonly points: Point[];
}

export interface Summary {
  readonly newFault: string;
  readonly driftAtSeconds: number;
  readonly plants: PlantFigures[];
  readonly federated: {
    versions: number;
    updatesAccepted: number;
    meanStaleness: number;
    stopReason: string | null;
  };
  readonly readingsPublished: Record<string, number>;
  readonly markdown: string;
}

function pointsOf(report: RunReport, plant: string, startedAtMs: number): Point[] {
  return report.federatedEvaluation.flatMap((round) => {
    const silo = round.silos[plant];
    if (!silo) return [];
    return [
      {
        seconds: (round.openedAtMs - startedAtMs) / 1000,
        recall: silo.recall[NEW_FAULT_CLASS] ?? null,
        accuracy: silo.accuracy,
      },
    ];
  });
}

function figuresOf(points: Point[], driftAtSeconds: number): Figures {
  const last = points.slice(-3);
  const mean = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
  };
  const reached = points.find((p) => p.seconds >= driftAtSeconds && (p.recall ?? 0) >= 0.5);
  return {
    newFaultRecallAtEnd: mean(last.map((p) => p.recall)),
    accuracyAtEnd: mean(last.map((p) => p.accuracy)),
    secondsToRecall50: reached ? reached.seconds - driftAtSeconds : null,
    rounds: points.length,
    points,
  };
}

export function summarise(input: {
  federated: RunReport;
  alone: RunReport[];
  plants: string[];
  startedAtMs: number;
  driftAtMs: number;
  telemetry: { published: Record<string, number>; byCondition: Record<string, Record<string, number>> };
}): Summary {
  const driftAtSeconds = (input.driftAtMs - input.startedAtMs) / 1000;
  const plants = input.plants.map((plant, i) => {
    const alone = input.alone[i];
    return {
      plant,
      sawNewFaultLocally: (input.telemetry.byCondition[plant]?.[NEW_FAULT] ?? 0) > 0,
      federated: figuresOf(pointsOf(input.federated, plant, input.startedAtMs), driftAtSeconds),
      alone: alone ? figuresOf(pointsOf(alone, plant, input.startedAtMs), driftAtSeconds) : null,
      staleness: input.federated.stalenessBySilo[plant] ?? null,
    };
  });
  const f = input.federated;
  const summary = {
    newFault: NEW_FAULT,
    driftAtSeconds,
    plants,
    federated: {
      versions: f.versions,
      updatesAccepted: f.updatesAccepted,
      meanStaleness: f.meanStaleness,
      stopReason: f.stopReason,
    },
    readingsPublished: input.telemetry.published,
  };
  return { ...summary, markdown: markdownOf(summary) };
}

const fixed = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? '–' : v.toFixed(digits);

function markdownOf(s: Omit<Summary, 'markdown'>): string {
  const rows = s.plants.map(
    (p) =>
      `| ${p.plant} | ${p.sawNewFaultLocally ? 'yes' : 'no'} | ${fixed(p.federated.newFaultRecallAtEnd)} | ${fixed(p.alone?.newFaultRecallAtEnd)} | ${fixed(p.federated.secondsToRecall50, 0)} | ${fixed(p.federated.accuracyAtEnd)} | ${fixed(p.alone?.accuracyAtEnd)} | ${p.staleness?.updates ?? 0} | ${fixed(p.staleness?.meanStaleness, 1)} | ${p.staleness?.maxStaleness ?? '–'} |`,
  );
  return [
    `# Sensor fleet: a ${s.newFault} fault appears at plant-0 after ${s.driftAtSeconds.toFixed(0)} s`,
    '',
    `Federated job: ${s.federated.versions} versions, ${s.federated.updatesAccepted} updates folded, mean staleness ${s.federated.meanStaleness.toFixed(2)}, stopped by ${s.federated.stopReason ?? '–'}.`,
    `Readings published: ${Object.entries(s.readingsPublished)
      .map(([plant, n]) => `${plant} ${n}`)
      .join(', ')}.`,
    '',
    `Recall on ${s.newFault} and accuracy on each plant's own holdout (mean of its last three evaluations), federated against the plant training alone on the same stream; staleness of the plant's updates in the federated job:`,
    '',
    `| plant | saw ${s.newFault} locally | recall federated | recall alone | s to recall 0.5 (federated) | accuracy federated | accuracy alone | updates | mean staleness | max staleness |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export function writeCharts(dir: string, s: Summary): string[] {
  const series = (pick: (p: Point) => number | null): Series[] =>
    s.plants
      .flatMap((p) => [
        { label: `${p.plant} federated`, points: p.federated.points.flatMap((q) => at(q, pick)) },
        ...(p.alone
          ? [{ label: `${p.plant} alone`, dashed: true, points: p.alone.points.flatMap((q) => at(q, pick)) }]
          : []),
      ])
      .map((line, i) => ({
        ...line,
        colour: COLOURS[Math.floor(i / (s.plants[0]?.alone ? 2 : 1)) % COLOURS.length],
      }));
  const drift = [{ x: s.driftAtSeconds, label: `${s.newFault} appears at plant-0` }];
  const recall = writeLineChart(join(dir, 'new-fault-recall'), {
    title: `Recall on ${s.newFault} per plant: federated (solid) against training alone (dashed)`,
    xLabel: 'seconds since the plants started',
    yLabel: `recall on ${s.newFault} (plant's holdout)`,
    yMin: 0,
    yMax: 1,
    series: series((p) => p.recall),
    verticalLines: drift,
    notes: s.plants.map(
      (p) =>
        `${p.plant} (${p.sawNewFaultLocally ? 'saw it' : 'never saw it'}): recall ${fixed(p.federated.newFaultRecallAtEnd)} federated, ${fixed(p.alone?.newFaultRecallAtEnd)} alone`,
    ),
  });
  const accuracy = writeLineChart(join(dir, 'plant-accuracy'), {
    title: "Accuracy on each plant's holdout (all five conditions): federated (solid) against alone (dashed)",
    xLabel: 'seconds since the plants started',
    yLabel: 'accuracy',
    yMin: 0,
    yMax: 1,
    series: series((p) => p.accuracy),
    verticalLines: drift,
  });
  return [recall.png, accuracy.png];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e'];
const at = (p: Point, pick: (p: Point) => number | null) => {
  const y = pick(p);
  return y === null ? [] : [{ x: p.seconds, y }];
};
