import { describe, expect, it } from 'vitest';
import { RoundTripStages, STAGES } from './stages.js';

const timings = (t0: number) => ({
  taskReceivedAtMs: t0 + 10,
  modelReadyAtMs: t0 + 25,
  startedAtMs: t0 + 25,
  finishedAtMs: t0 + 525,
});

describe('RoundTripStages', () => {
  it('splits an update into its stages from the lease, its timings, its record and the coordinator', () => {
    const stages = new RoundTripStages();
    stages.folded({
      leaseIssuedAtMs: 1000,
      timings: timings(1000),
      recordCreatedAtMs: 1530,
      wholeAtMs: 1545,
      foldedAtMs: 1547,
    });
    const s = stages.summary();
    expect(s['task delivered'].medianMs).toBe(10);
    expect(s['model ready'].medianMs).toBe(15);
    expect(s.training.medianMs).toBe(500);
    expect(s.encoded.medianMs).toBe(5);
    expect(s['in Kafka'].medianMs).toBe(15);
    expect(s.folded.medianMs).toBe(2);
    expect(s.step.count).toBe(0);
  });

  it('times a step from its last fold and the next lease from the commit, once per version', () => {
    const stages = new RoundTripStages();
    stages.stepCommitted(3, 2000, 2040);
    stages.leaseIssued(3, 2055);
    stages.leaseIssued(3, 2300); // a later lease on the same version is not "the next"
    stages.leaseIssued(9, 2400); // a version whose step this coordinator did not see
    const s = stages.summary();
    expect(s.step).toMatchObject({ count: 1, medianMs: 40 });
    expect(s['next lease']).toMatchObject({ count: 1, medianMs: 15 });
  });

  it('skips what an older worker did not send and what cannot be (negative, over an hour, not a number)', () => {
    const stages = new RoundTripStages();
    stages.folded({
      leaseIssuedAtMs: undefined,
      timings: { startedAtMs: 5000, finishedAtMs: 4000, taskReceivedAtMs: null, modelReadyAtMs: undefined },
      recordCreatedAtMs: Number.NaN,
      wholeAtMs: 10,
      foldedAtMs: 10 + 2 * 60 * 60_000,
    });
    for (const stage of STAGES) expect(stages.summary()[stage].count).toBe(0);
  });

  it('gives the median, 90th percentile and mean, and keeps only the last 4,096 samples', () => {
    const stages = new RoundTripStages();
    for (let i = 1; i <= 10; i++) stages.stepCommitted(i, 0, i);
    expect(stages.summary().step).toEqual({ count: 10, medianMs: 5.5, p90Ms: 9, meanMs: 5.5 });
    for (let i = 0; i < 5000; i++) stages.stepCommitted(100 + i, 0, 7);
    expect(stages.summary().step).toMatchObject({ count: 4096, medianMs: 7, p90Ms: 7 });
  });
});
