/**
 * defineTask: checks a task definition once, at load, with one problem per bad field (the same
 * ConfigError the services' start-up uses), and freezes it.
 */
import { ConfigError } from '../core/errors.js';
import { runDefaultsProblems } from './defaults.js';
import type { Task, TaskConfig, TaskDefinition } from './types.js';

const LOSSES = [
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'meanSquaredError',
  'meanAbsoluteError',
];

export function definitionProblems(definition: unknown): string[] {
  if (typeof definition !== 'object' || definition === null) return ['task: must be an object'];
  const d = definition as Partial<Record<keyof TaskDefinition, unknown>>;
  const problems: string[] = [];
  const isFunction = (v: unknown) => typeof v === 'function';
  if (typeof d.id !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(d.id))
    problems.push(
      `id: letters, digits, ".", "_" and "-" only, 1 to 128 of them, got ${JSON.stringify(d.id)}`,
    );
  if (!isFunction(d.model)) problems.push('model: must be a function ({ tf, config }) => tf.LayersModel');
  const data = d.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null)
    problems.push('data: must be an object with a train function');
  else {
    if (data.train === undefined && data.stream === undefined)
      problems.push('data: give train (a function returning batches) or stream (Kafka topics)');
    if (data.train !== undefined && data.stream !== undefined)
      problems.push('data: give train or stream, not both');
    if (data.train !== undefined && !isFunction(data.train))
      problems.push('data.train: must be a function returning batches');
    if (data.stream !== undefined) problems.push(...streamProblems(data.stream));
    if (data.evaluation !== undefined && !isFunction(data.evaluation))
      problems.push('data.evaluation: must be a function returning batches, or absent');
    if (data.holdout !== undefined && !isFunction(data.holdout))
      problems.push('data.holdout: must be a function returning batches, or absent');
    for (const key of Object.keys(data))
      if (!['train', 'stream', 'evaluation', 'holdout'].includes(key))
        problems.push(`data.${key}: unknown (known: train, stream, evaluation, holdout)`);
  }
  if (d.train !== undefined && !isFunction(d.train)) problems.push('train: must be a function, or absent');
  if (d.loss !== undefined && !isFunction(d.loss) && !LOSSES.includes(d.loss as string))
    problems.push(`loss: must be a function or one of ${LOSSES.join(', ')}, got ${JSON.stringify(d.loss)}`);
  if (d.metrics !== undefined) {
    if (typeof d.metrics !== 'object' || d.metrics === null)
      problems.push('metrics: must be an object of functions');
    else
      for (const [name, fn] of Object.entries(d.metrics))
        if (!isFunction(fn))
          problems.push(`metrics.${name}: must be a function (ys, predictions, tf) => scalar`);
        else if (name === 'loss') problems.push('metrics.loss: reserved (the task loss is always reported)');
  }
  if (d.initialWeights !== undefined && d.initialWeights !== 'model' && d.initialWeights !== 'he-normal')
    problems.push(`initialWeights: must be "model" or "he-normal", got ${JSON.stringify(d.initialWeights)}`);
  if (d.config !== undefined) {
    if (typeof d.config !== 'object' || d.config === null || Array.isArray(d.config))
      problems.push('config: must be an object of strings, numbers and booleans');
    else
      for (const [key, value] of Object.entries(d.config))
        if (!['string', 'number', 'boolean'].includes(typeof value))
          problems.push(`config.${key}: must be a string, number or boolean, got ${typeof value}`);
  }
  if (
    d.classNames !== undefined &&
    !(
      Array.isArray(d.classNames) &&
      d.classNames.every((n) => typeof n === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(n))
    )
  )
    problems.push('classNames: must be an array of names (letters, digits, ".", "_", "-", at most 64 each)');
  problems.push(...runDefaultsProblems(d.defaults));
  const known = [
    'id',
    'config',
    'model',
    'loss',
    'metrics',
    'data',
    'train',
    'initialWeights',
    'defaults',
    'classNames',
  ];
  for (const key of Object.keys(d)) if (!known.includes(key)) problems.push(`${key}: unknown task field`);
  return problems;
}

function streamProblems(stream: unknown): string[] {
  if (typeof stream !== 'object' || stream === null) return ['data.stream: must be an object'];
  const s = stream as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof s.topics !== 'function')
    problems.push('data.stream.topics: must be a function ({ silo }) => topic names');
  if (typeof s.map !== 'function')
    problems.push('data.stream.map: must be a function (record) => { features, target } | null');
  if (s.format !== undefined && s.format !== 'avro' && s.format !== 'json')
    problems.push(`data.stream.format: must be "avro" or "json", got ${JSON.stringify(s.format)}`);
  const shape = s.featureShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0))
    problems.push('data.stream.featureShape: must be a non-empty array of whole numbers > 0');
  for (const key of ['classes', 'targetWidth'])
    if (s[key] !== undefined && !(Number.isInteger(s[key]) && (s[key] as number) > 0))
      problems.push(`data.stream.${key}: must be a whole number > 0`);
  const window = s.window as Record<string, unknown> | undefined;
  if (
    typeof window !== 'object' ||
    window === null ||
    !(Number.isInteger(window.records) && (window.records as number) > 0)
  )
    problems.push('data.stream.window.records: must be a whole number > 0');
  else if (window.seconds !== undefined && !(typeof window.seconds === 'number' && window.seconds > 0))
    problems.push('data.stream.window.seconds: must be a number > 0');
  const start = s.start;
  if (
    start !== undefined &&
    start !== 'earliest' &&
    start !== 'latest' &&
    !(typeof start === 'object' && start !== null && Number.isFinite((start as { fromMs?: unknown }).fromMs))
  )
    problems.push('data.stream.start: must be "earliest", "latest" or { fromMs }');
  return problems;
}

/** Validates and freezes a task definition; throws ConfigError (TRIB_CONFIG_INVALID) listing every problem. */
export function defineTask<C extends TaskConfig = TaskConfig>(definition: TaskDefinition<C>): Task<C> {
  const problems = definitionProblems(definition);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `task ${p}`));
  return Object.freeze({ ...definition, kind: 'tributary-task' as const });
}

export function isTask(value: unknown): value is Task {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tributary-task'
  );
}

/**
 * The task's config with overrides (from TRIBUTARY_TASK_CONFIG or --set) applied: each override must
 * name a key the task declares and keep its type; strings from the command line are converted.
 */
export function resolveTaskConfig<C extends TaskConfig>(
  task: Task<C>,
  overrides: Readonly<Record<string, unknown>>,
): { config: C; problems: string[] } {
  const base: Record<string, unknown> = { ...(task.config ?? {}) };
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(overrides)) {
    if (!(key in base)) {
      problems.push(`task config ${key}: unknown (known: ${Object.keys(base).join(', ') || 'none'})`);
      continue;
    }
    const kind = typeof base[key];
    const value =
      typeof raw === 'string' && kind === 'number'
        ? Number(raw)
        : typeof raw === 'string' && kind === 'boolean'
          ? raw === 'true'
            ? true
            : raw === 'false'
              ? false
              : raw
          : raw;
    if (typeof value !== kind || (kind === 'number' && !Number.isFinite(value as number)))
      problems.push(`task config ${key}: must be a ${kind}, got ${JSON.stringify(raw)}`);
    else base[key] = value;
  }
  return { config: Object.freeze(base) as C, problems };
}
