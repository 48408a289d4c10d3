import { describe, expect, it } from 'vitest';
import type { FoldedUpdate } from '../../lib/core/fedbuff/aggregator.js';
import { loadCoordinatorConfig } from './config.js';
import { RunMetrics } from './metrics.js';

const config = loadCoordinatorConfig({
  TRIBUTARY_TARGET_ACCURACY: '0.9',
  KAFKA_BROKERS: 'localhost:9092',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081',
});
const evaluation = (accuracy: number) => ({ accuracy, loss: 1 - accuracy, metrics: { accuracy } });

describe('RunMetrics', () => {
  it('stamps an evaluation with when it finished and when its version was committed, from the first lease', () => {
    const metrics = new RunMetrics(config, 1_000);
    metrics.evaluated(0, evaluation(0.1), 1_500); // version 0: before any lease
    metrics.leaseIssued(2_000);
    metrics.evaluated(4, evaluation(0.92), 5_000, 4_250);
    const [zero, four] = metrics.accuracy;
    expect(zero).toMatchObject({
      version: 0,
      seconds: 0.5,
      trainingSeconds: null,
      publishedTrainingSeconds: null,
    });
    expect(four).toMatchObject({
      version: 4,
      seconds: 4,
      trainingSeconds: 3,
      publishedTrainingSeconds: 2.25,
    });
    expect(metrics.secondsToTarget).toBe(4); // the job knows when the evaluation said so
  });

  it('counts a folded update, its staleness by silo, and its training figures weighted by examples', () => {
    const metrics = new RunMetrics(config, 0);
    const update = (staleness: number) =>
      ({ staleness, stalenessWeight: 1 / (1 + staleness) }) as FoldedUpdate;
    metrics.folded(update(0), { late: false, silo: 'a', metrics: { loss: 1 }, numExamples: 30 }, 10);
    metrics.folded(update(2), { late: true, silo: 'b', metrics: { loss: 4, odd: NaN }, numExamples: 10 }, 20);
    expect(metrics.updatesAccepted).toBe(2);
    expect(metrics.updatesLate).toBe(1);
    expect(metrics.stalenessCounts).toEqual({ 0: 1, 2: 1 });
    expect(metrics.trainingMetrics()).toEqual({ loss: (30 * 1 + 10 * 4) / 40 });
    const bySilo = metrics.silos.stalenessBySilo();
    expect(bySilo.a).toMatchObject({ updates: 1 });
    expect(bySilo.b).toMatchObject({ updates: 1 });
  });
});
