import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { defineTask, definitionProblems, isTask, resolveTaskConfig } from './define.js';
import { runDefaultsAsEnv, runDefaultsProblems } from './defaults.js';
import type { TaskDefinition } from './types.js';

const minimal: TaskDefinition = {
  id: 'demo',
  model: () => {
    throw new Error('not built in these tests');
  },
  data: { train: () => [] },
};

describe('defineTask', () => {
  it('accepts a minimal task and marks it', () => {
    const task = defineTask(minimal);
    expect(isTask(task)).toBe(true);
    expect(Object.isFrozen(task)).toBe(true);
    expect(isTask({ ...minimal })).toBe(false);
  });

  it('reports every bad field at once, one line each', () => {
    const bad = {
      id: 'has space',
      model: 'not a function',
      data: { train: 3, evaluation: 'x', holdout: [], extra: () => [] },
      loss: 'hinge',
      metrics: { f1: 1, loss: () => 0 },
      initialWeights: 'zeros',
      classNames: ['ok', 'has space'],
      config: { ok: 1, nested: { no: true } },
      defaults: { bufferSize: 0, strategy: 'fedsgd', maxWallSeconds: -1, nope: 1 },
      surprise: true,
    };
    const problems = definitionProblems(bad);
    expect(problems).toEqual([
      'id: letters, digits, ".", "_" and "-" only, 1 to 128 of them, got "has space"',
      'model: must be a function ({ tf, config }) => tf.LayersModel',
      'data.train: must be a function returning batches',
      'data.evaluation: must be a function returning batches, or absent',
      'data.holdout: must be a function returning batches, or absent',
      'data.extra: unknown (known: train, stream, evaluation, holdout)',
      'loss: must be a function or one of categoricalCrossentropy, sparseCategoricalCrossentropy, meanSquaredError, meanAbsoluteError, got "hinge"',
      'metrics.f1: must be a function (ys, predictions, tf) => scalar',
      'metrics.loss: reserved (the task loss is always reported)',
      'initialWeights: must be "model" or "he-normal", got "zeros"',
      'config.nested: must be a string, number or boolean, got object',
      'classNames: must be an array of names (letters, digits, ".", "_", "-", at most 64 each)',
      'defaults.bufferSize: must be a whole number >= 1, got 0',
      'defaults.strategy: must be one of fedbuff, fedavg, got "fedsgd"',
      'defaults.maxWallSeconds: must be a number >= 0, got -1',
      expect.stringMatching(/^defaults\.nope: unknown \(known: strategy, bufferSize, /),
      'surprise: unknown task field',
    ]);
    expect(() => defineTask(bad as unknown as TaskDefinition)).toThrow(ConfigError);
  });

  it('checks a streamed data source field by field, and wants train or stream', () => {
    const stream = {
      topics: 'plant-a',
      format: 'csv',
      map: () => null,
      featureShape: [0],
      classes: 1.5,
      window: { records: 10, seconds: -1 },
      start: 'yesterday',
    };
    expect(definitionProblems({ ...minimal, data: { stream } })).toEqual([
      'data.stream.topics: must be a function ({ silo }) => topic names',
      'data.stream.format: must be "avro" or "json", got "csv"',
      'data.stream.featureShape: must be a non-empty array of whole numbers > 0',
      'data.stream.classes: must be a whole number > 0',
      'data.stream.window.seconds: must be a number > 0',
      'data.stream.start: must be "earliest", "latest" or { fromMs }',
    ]);
    expect(definitionProblems({ ...minimal, data: {} })).toEqual([
      'data: give train (a function returning batches) or stream (Kafka topics)',
    ]);
    const good = {
      ...stream,
      topics: () => ['t'],
      format: 'json',
      featureShape: [2],
      classes: 2,
      window: { records: 5 },
      start: { fromMs: 0 },
    };
    expect(definitionProblems({ ...minimal, data: { stream: good } })).toEqual([]);
    expect(definitionProblems({ ...minimal, data: { stream: good, train: () => [] } })).toEqual([
      'data: give train or stream, not both',
    ]);
  });

  it('rejects what is not an object', () => {
    expect(definitionProblems(null)).toEqual(['task: must be an object']);
    expect(runDefaultsProblems([])).toEqual(['defaults: must be an object']);
  });
});

describe('run defaults', () => {
  it('become the coordinator environment names, and only for fields that are set', () => {
    expect(
      runDefaultsAsEnv({ strategy: 'fedavg', concurrency: 3, targetAccuracy: 0.8, learningRate: 0.05 }),
    ).toEqual({
      TRIBUTARY_STRATEGY: 'fedavg',
      TRIBUTARY_CONCURRENCY: '3',
      TRIBUTARY_TARGET_ACCURACY: '0.8',
      TRIBUTARY_CLIENT_LR: '0.05',
    });
    expect(runDefaultsAsEnv(undefined)).toEqual({});
  });

  it('check integers, ranges and enums', () => {
    expect(runDefaultsProblems({ localEpochs: 1.5, targetAccuracy: 2, staleness: 'hinge' })).toEqual([
      'defaults.localEpochs: must be a whole number >= 1, got 1.5',
      'defaults.targetAccuracy: must be a number >= 0 <= 1, got 2',
    ]);
  });
});

describe('task config overrides', () => {
  const task = defineTask({ ...minimal, config: { model: 'mlp', seed: 1, verbose: false } });

  it('convert command-line strings to the declared type', () => {
    const { config, problems } = resolveTaskConfig(task, { seed: '42', verbose: 'true', model: 'cnn' });
    expect(problems).toEqual([]);
    expect(config).toEqual({ model: 'cnn', seed: 42, verbose: true });
  });

  it('name each unknown key and each value of the wrong type', () => {
    const { config, problems } = resolveTaskConfig(task, {
      seed: 'x',
      verbose: 'yes',
      colour: 'red',
      model: 3,
    });
    expect(problems).toEqual([
      'task config seed: must be a number, got "x"',
      'task config verbose: must be a boolean, got "yes"',
      'task config colour: unknown (known: model, seed, verbose)',
      'task config model: must be a string, got 3',
    ]);
    expect(config).toEqual({ model: 'mlp', seed: 1, verbose: false });
  });
});
