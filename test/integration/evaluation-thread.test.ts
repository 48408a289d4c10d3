/**
 * Central evaluation on its own thread (TRIBUTARY_EVALUATION_THREAD=on): the coordinator's figures
 * for a version must be what evaluating that version's published weights gives in this process.
 */
import { afterEach, expect, inject, it } from 'vitest';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { loadTaskModel } from '../../lib/task/load.js';
import { tensorsOf } from '../../lib/wire/records.js';
import { MNIST_TASK } from '../support/tasks.js';

let federation: Federation | undefined;
afterEach(async () => {
  await federation?.stop();
  federation = undefined;
});

it('evaluates versions on a thread of its own, with the figures an evaluation of their published weights gives', async () => {
  federation = await startFederation({
    stack: { brokers: inject('brokers'), registryUrl: inject('registryUrl') },
    task: MNIST_TASK,
    workers: 2,
    coordinator: {
      TRIBUTARY_EVALUATION_THREAD: 'on',
      TRIBUTARY_MAX_VERSIONS: '25',
      TRIBUTARY_TARGET_ACCURACY: '0',
      TRIBUTARY_CONCURRENCY: '2',
      TRIBUTARY_BUFFER_K: '2',
      TRIBUTARY_MIN_WORKERS: '2',
      TRIBUTARY_MAX_WALL_SECONDS: '120',
    },
  });
  const report = await federation.finished();
  expect(report.stopReason).toBe('max-versions');
  const ready = federation.coordinator.events('evaluation-thread-ready');
  expect(ready).toHaveLength(1);
  // Version 0 is evaluated inline at start-up (it starts the thread); later ones on the thread.
  const readyAt = Date.parse(String(ready[0]?.time));
  const written = Date.parse(String(federation.coordinator.events('report-written')[0]?.time));
  expect(readyAt).toBeLessThan(written);
  const evaluatedAfter = report.accuracyCurve.filter((p) => p.version > 0);
  expect(evaluatedAfter.length).toBeGreaterThan(2);

  const models = await federation.readTopic('models');
  const model = await loadTaskModel(MNIST_TASK);
  const data = model.task.data.evaluation;
  if (!data) throw new Error('the MNIST task has held-out data');
  const last = evaluatedAfter.at(-1);
  const record = models.find((m) => m.version === last?.version && m.chunk === null);
  if (!last || !record) throw new Error(`version ${last?.version} is not on the models topic`);
  const weights = Float32Array.from(tensorsOf(record).flatMap((t) => [...t.values]));
  const here = await model.evaluate(weights, data({ tf: model.tf, config: model.config, batchSize: 500 }));
  expect(last.accuracy).toBeCloseTo(here.accuracy ?? -1, 4);
  expect(last.loss).toBeCloseTo(here.loss, 3);
});
