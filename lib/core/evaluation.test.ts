import { describe, expect, it } from 'vitest';
import type { EvaluationReport } from '../wire/schemas.js';
import { aggregateReports, EvaluationRounds, reportProblem } from './evaluation.js';

function report(over: Partial<EvaluationReport> & { workerId: string; silo: string }): EvaluationReport {
  return {
    taskId: `t-${over.workerId}`,
    jobId: 'job',
    version: 3,
    numExamples: 10,
    loss: 1,
    metrics: {},
    classes: 0,
    confusion: [],
    evaluatedAtMs: 0,
    ...over,
  };
}

describe('aggregateReports', () => {
  it('weighs loss and metrics by examples and sums confusion matrices (a hand-computed case)', () => {
    // Silo a: worker 1 has 10 examples (rows: true 0 → 6 right, 1 wrong; true 1 → 1 wrong, 2 right),
    // worker 2 has 30 (true 0 → 10 right; true 1 → 5 wrong, 15 right). Silo b: 20 examples.
    const a1 = report({
      workerId: 'w1',
      silo: 'a',
      numExamples: 10,
      loss: 0.5,
      metrics: { accuracy: 0.8 },
      classes: 2,
      confusion: [6, 1, 1, 2],
    });
    const a2 = report({
      workerId: 'w2',
      silo: 'a',
      numExamples: 30,
      loss: 0.3,
      metrics: { accuracy: 25 / 30 },
      classes: 2,
      confusion: [10, 0, 5, 15],
    });
    const b = report({
      workerId: 'w3',
      silo: 'b',
      numExamples: 20,
      loss: 1.1,
      metrics: { accuracy: 0.5 },
      classes: 2,
      confusion: [0, 0, 10, 10],
    });

    const siloA = aggregateReports([a1, a2]);
    expect(siloA.examples).toBe(40);
    expect(siloA.loss).toBeCloseTo((0.5 * 10 + 0.3 * 30) / 40, 12); // 0.35
    expect(siloA.confusion).toEqual([16, 1, 6, 17]);
    expect(siloA.accuracy).toBeCloseTo(33 / 40, 12);
    expect(siloA.metrics.accuracy).toBeCloseTo(33 / 40, 12);
    expect(siloA.recall[0]).toBeCloseTo(16 / 17, 12);
    expect(siloA.recall[1]).toBeCloseTo(17 / 23, 12);
    expect(siloA.precision[0]).toBeCloseTo(16 / 22, 12);
    expect(siloA.precision[1]).toBeCloseTo(17 / 18, 12);
    const p = 17 / 18;
    const r = 17 / 23;
    expect(siloA.f1[1]).toBeCloseTo((2 * p * r) / (p + r), 12);

    const overall = aggregateReports([a1, a2, b]);
    expect(overall.examples).toBe(60);
    expect(overall.workers).toBe(3);
    expect(overall.loss).toBeCloseTo((5 + 9 + 22) / 60, 12); // 0.6
    expect(overall.confusion).toEqual([16, 1, 16, 27]);
    expect(overall.accuracy).toBeCloseTo(43 / 60, 12);
    expect(overall.recall[1]).toBeCloseTo(27 / 43, 12);
  });

  it('gives no recall for a class without true examples, and F1 0 for a class never predicted', () => {
    const r = aggregateReports([
      report({
        workerId: 'w',
        silo: 's',
        numExamples: 4,
        classes: 3,
        confusion: [2, 0, 0, 2, 0, 0, 0, 0, 0],
      }),
    ]);
    expect(r.recall).toEqual([1, 0, null]);
    expect(r.precision).toEqual([0.5, null, null]);
    expect(r.f1[0]).toBeCloseTo(2 / 3, 12);
    expect(r.f1[1]).toBe(0);
    expect(r.f1[2]).toBeNull();
  });

  it('averages only the metrics every report gives, and uses the accuracy metric when there is no matrix', () => {
    const r = aggregateReports([
      report({ workerId: 'a', silo: 's', numExamples: 1, metrics: { accuracy: 1, mae: 2 } }),
      report({ workerId: 'b', silo: 's', numExamples: 3, metrics: { accuracy: 0 } }),
    ]);
    expect(r.metrics).toEqual({ accuracy: 0.25 });
    expect(r.accuracy).toBe(0.25);
    expect(aggregateReports([report({ workerId: 'a', silo: 's' })]).accuracy).toBeNull();
  });
});

describe('reportProblem: every field can lie', () => {
  const good = report({ workerId: 'w', silo: 's', numExamples: 4, classes: 2, confusion: [1, 1, 1, 1] });
  it('accepts a consistent report', () => expect(reportProblem(good)).toBeNull());
  it.each([
    ['zero examples', { numExamples: 0 }, /numExamples/],
    ['fractional examples', { numExamples: 2.5 }, /numExamples/],
    ['absurd examples', { numExamples: 1e12, confusion: [1e12, 0, 0, 0] }, /numExamples/],
    ['NaN loss', { loss: Number.NaN }, /loss/],
    ['infinite metric', { metrics: { accuracy: Number.POSITIVE_INFINITY } }, /metric accuracy/],
    [
      'too many metrics',
      { metrics: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, 0])) },
      /at most 64/,
    ],
    ['negative classes', { classes: -1, confusion: [] }, /classes/],
    ['too many classes', { classes: 300, confusion: [] }, /classes/],
    ['a matrix of the wrong size', { confusion: [1, 1, 2] }, /classes² = 4/],
    ['a negative count', { confusion: [5, -1, 0, 0] }, /non-negative/],
    ['counts that do not add up', { confusion: [1, 1, 1, 2] }, /sum to 5, not numExamples 4/],
  ] as const)('rejects %s', (_name, change, message) => {
    const problem = reportProblem({ ...good, ...change } as EvaluationReport);
    expect(problem?.code).toBe('TRIB_EVALUATION_INVALID');
    expect(problem?.message).toMatch(message);
  });
});

describe('EvaluationRounds', () => {
  const workers = [
    { workerId: 'w1', silo: 'a' },
    { workerId: 'w2', silo: 'a' },
    { workerId: 'w3', silo: 'b' },
  ];
  const open = (rounds: EvaluationRounds, version = 3, at = 0) =>
    rounds.openRound(version, workers, at, (w) => `v${version}-${w.workerId}`);

  it('asks each worker once and closes the round when all have answered, per silo and overall', () => {
    const rounds = new EvaluationRounds();
    const { requests } = open(rounds);
    expect(requests.map((r) => r.taskId)).toEqual(['v3-w1', 'v3-w2', 'v3-w3']);
    expect(requests[0]?.deadlineMs).toBe(30_000);
    const answer = (w: string, silo: string, n: number, loss: number) =>
      rounds.accept(report({ taskId: `v3-${w}`, workerId: w, silo, numExamples: n, loss }), 10);
    expect(answer('w1', 'a', 10, 1)).toEqual({ kind: 'accepted', closed: null });
    expect(answer('w1', 'a', 10, 1)).toEqual({ kind: 'duplicate' });
    expect(answer('w1', 'a', 0, 1)).toMatchObject({ kind: 'rejected', code: 'TRIB_EVALUATION_INVALID' });
    expect(answer('w3', 'b', 30, 2)).toEqual({ kind: 'accepted', closed: null });
    const last = answer('w2', 'a', 30, 3);
    expect(last.kind).toBe('accepted');
    const closed = last.kind === 'accepted' ? last.closed : null;
    expect(closed?.closedBy).toBe('complete');
    expect(closed?.answered).toBe(3);
    expect(closed?.silos.a?.loss).toBeCloseTo((10 + 90) / 40, 12);
    expect(closed?.silos.b?.loss).toBe(2);
    expect(closed?.overall.loss).toBeCloseTo((10 + 60 + 90) / 70, 12);
    expect(rounds.openRounds).toBe(0);
  });

  it('rejects reports that answer nothing asked, or another worker or silo, and counts a late one', () => {
    const rounds = new EvaluationRounds();
    open(rounds);
    const accept = (over: Partial<EvaluationReport>) =>
      rounds.accept(report({ taskId: 'v3-w1', workerId: 'w1', silo: 'a', ...over }), 1);
    expect(accept({ taskId: 'forged' })).toMatchObject({
      kind: 'rejected',
      code: 'TRIB_EVALUATION_UNEXPECTED',
    });
    expect(accept({ version: 2 })).toMatchObject({ kind: 'rejected', code: 'TRIB_EVALUATION_UNEXPECTED' });
    expect(accept({ workerId: 'w3' })).toMatchObject({ kind: 'rejected', message: /sent to w1 \(a\)/ });
    expect(accept({ silo: 'b' })).toMatchObject({ kind: 'rejected', code: 'TRIB_EVALUATION_UNEXPECTED' });
    expect(accept({ numExamples: -4 })).toMatchObject({ kind: 'rejected', code: 'TRIB_EVALUATION_INVALID' });
    // A rejected report claims nothing: the honest answer to the same request still counts.
    expect(accept({})).toEqual({ kind: 'accepted', closed: null });
    expect(
      rounds.accept(report({ taskId: 'v3-w2', workerId: 'w2', silo: 'a', classes: 1, confusion: [10] }), 2),
    ).toMatchObject({ kind: 'rejected', message: /classes 1 differs from the round's 0/ });

    const [closed] = rounds.expire(30_000);
    expect(closed?.closedBy).toBe('deadline');
    expect(closed?.answered).toBe(1);
    expect(closed?.missingSilos).toEqual(['b']);
    expect(rounds.accept(report({ taskId: 'v3-w3', workerId: 'w3', silo: 'b' }), 40_000)).toEqual({
      kind: 'late',
    });
    // A closed round's request is still only the asked worker's to answer, well-formed.
    expect(rounds.accept(report({ taskId: 'v3-w3', workerId: 'w1', silo: 'a' }), 40_000)).toMatchObject({
      kind: 'rejected',
      code: 'TRIB_EVALUATION_UNEXPECTED',
    });
    expect(
      rounds.accept(report({ taskId: 'v3-w3', workerId: 'w3', silo: 'b', numExamples: 0 }), 40_000),
    ).toMatchObject({ kind: 'rejected', code: 'TRIB_EVALUATION_INVALID' });
  });

  it("refuses a matrix wider than the model's outputs, before it can set the round's class count", () => {
    const rounds = new EvaluationRounds({
      deadlineMs: 1000,
      maxOpenRounds: 2,
      rememberClosed: 8,
      classes: 2,
    });
    open(rounds);
    const wide = report({
      taskId: 'v3-w1',
      workerId: 'w1',
      silo: 'a',
      numExamples: 9,
      classes: 3,
      confusion: [3, 0, 0, 0, 3, 0, 0, 0, 3],
    });
    expect(rounds.accept(wide, 1)).toMatchObject({
      kind: 'rejected',
      code: 'TRIB_EVALUATION_INVALID',
      message: /model has 2 outputs/,
    });
    const honest = report({
      taskId: 'v3-w1',
      workerId: 'w1',
      silo: 'a',
      numExamples: 4,
      classes: 2,
      confusion: [2, 0, 0, 2],
    });
    expect(rounds.accept(honest, 2)).toEqual({ kind: 'accepted', closed: null });
  });

  it('keeps a bounded number of rounds open and closes the oldest to open another', () => {
    const rounds = new EvaluationRounds({ deadlineMs: 1000, maxOpenRounds: 2, rememberClosed: 2 });
    open(rounds, 1);
    open(rounds, 2);
    expect(open(rounds, 2).requests).toEqual([]); // already open
    const { closed } = open(rounds, 3);
    expect(closed.map((r) => r.version)).toEqual([1]);
    expect(rounds.openRounds).toBe(2);
    // Only the last 2 closed task ids are remembered: an older answer is unexpected, not late.
    expect(rounds.accept(report({ taskId: 'v1-w1', workerId: 'w1', silo: 'a', version: 1 }), 5).kind).toBe(
      'rejected',
    );
    expect(rounds.accept(report({ taskId: 'v1-w3', workerId: 'w3', silo: 'b', version: 1 }), 5).kind).toBe(
      'late',
    );
    expect(rounds.closeAll(5)).toEqual([]); // no answers: nothing to report
    expect(rounds.openRounds).toBe(0);
    expect(rounds.openRound(9, [], 0, () => 'x').requests).toEqual([]);
  });
});
