import { describe, expect, it } from 'vitest';
import { CRITICAL_STAGES, FIRST_VERSIONS_KEPT, RoundTripStages, STAGES } from './stages.js';

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
      fetchedAtMs: 1536,
      wholeAtMs: 1545,
      foldedAtMs: 1547,
    });
    const s = stages.summary();
    expect(s['task delivered'].medianMs).toBe(10);
    expect(s['model ready'].medianMs).toBe(15);
    expect(s.training.medianMs).toBe(500);
    expect(s.encoded.medianMs).toBe(5);
    expect(s['in Kafka'].medianMs).toBe(6);
    expect(s.queued.medianMs).toBe(9);
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
      fetchedAtMs: 5,
      wholeAtMs: 4,
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

  describe('critical path', () => {
    /** An update leased at `lease` on `base`, handed over 3 ms before the lane takes it, folded at `foldedAtMs`. */
    const update = (base: number, lease: number, train: number, foldedAtMs: number) => ({
      leaseIssuedAtMs: lease,
      timings: {
        taskReceivedAtMs: lease + 4,
        modelReadyAtMs: lease + 6,
        startedAtMs: lease + 6,
        finishedAtMs: lease + 6 + train,
      },
      recordCreatedAtMs: lease + 7 + train,
      fetchedAtMs: foldedAtMs - 4,
      wholeAtMs: foldedAtMs - 1,
      foldedAtMs,
      baseVersion: base,
    });

    it("takes each version's last fold as its path, and under sync rounds the path adds up to the interval", () => {
      const stages = new RoundTripStages();
      stages.stepCommitted(0, 0, 100); // version 0 committed at 100
      // Round 1: leased 2 ms after the commit; the slow update (60 ms of training) completes it.
      stages.folded(update(0, 102, 20, 140));
      stages.folded(update(0, 102, 60, 180));
      stages.stepCommitted(1, 180, 192);
      const path = stages.criticalPath();
      expect(path.leased).toMatchObject({ count: 1, medianMs: 2 });
      expect(path.training.medianMs).toBe(60);
      expect(path['in Kafka'].medianMs).toBe(180 - 4 - (102 + 7 + 60));
      expect(path.queued.medianMs).toBe(3);
      expect(path.step.medianMs).toBe(12);
      expect(path['between versions']).toMatchObject({ count: 1, medianMs: 92 });
      const parts = CRITICAL_STAGES.filter((s) => s !== 'between versions').reduce(
        (sum, s) => sum + path[s].medianMs,
        0,
      );
      expect(parts).toBe(92);
      // The fast update counts among all updates' stages, not on the path.
      expect(stages.summary().training.count).toBe(2);
      expect(path.training.count).toBe(1);
    });

    it("keeps the first versions' paths whole, one by one, and no more than FIRST_VERSIONS_KEPT", () => {
      const stages = new RoundTripStages();
      stages.stepCommitted(0, 0, 100);
      stages.folded(update(0, 102, 60, 180));
      stages.stepCommitted(1, 180, 192);
      stages.folded(update(1, 195, 20, 230));
      stages.stepCommitted(2, 230, 240);
      const [v0, v1, v2] = stages.firstVersionPaths();
      expect(v0).toEqual({ version: 0, stages: {} });
      expect(v1?.version).toBe(1);
      expect(v1?.stages).toEqual({
        leased: 2,
        'task delivered': 4,
        'model ready': 2,
        training: 60,
        encoded: 1,
        'in Kafka': 180 - 4 - (102 + 7 + 60),
        queued: 3,
        folded: 1,
        step: 12,
        'between versions': 92,
      });
      expect(v2?.stages).toMatchObject({ leased: 3, training: 20, step: 10, 'between versions': 48 });
      for (let v = 3; v < 20; v++) stages.stepCommitted(v, 0, 240 + v);
      expect(stages.firstVersionPaths().map((p) => p.version)).toEqual(
        Array.from({ length: FIRST_VERSIONS_KEPT }, (_, i) => i),
      );
    });

    it('leaves the path out when no fold led to the step (a commit of rejections), and a lease before the base', () => {
      const stages = new RoundTripStages();
      stages.stepCommitted(4, 0, 1000);
      stages.folded(update(4, 1010, 20, 1050));
      stages.stepCommitted(5, 1049, 1060); // not the fold's time: some other step
      expect(stages.criticalPath().training.count).toBe(0);
      expect(stages.criticalPath()['between versions'].medianMs).toBe(60);
      // Leased on version 3, whose commit this coordinator never saw: no `leased`, the rest counts.
      stages.folded(update(3, 900, 20, 1100));
      stages.stepCommitted(6, 1100, 1110);
      const path = stages.criticalPath();
      expect(path.leased.count).toBe(0);
      expect(path.training.count).toBe(1);
      // A step after a step with no fold between them has no path of its own.
      stages.stepCommitted(7, 1100, 1120);
      expect(stages.criticalPath().step.count).toBe(1);
    });
  });
});
