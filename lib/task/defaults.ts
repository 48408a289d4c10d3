/**
 * A task's run defaults, checked field by field, and translated to the coordinator's environment
 * names so that the environment (and CLI flags, which set it) still override them.
 */
import type { RunDefaults } from './types.js';

/**
 * Local SGD's batch size and learning rate where neither the task nor the run sets them: the
 * coordinator's TRIBUTARY_BATCH_SIZE and TRIBUTARY_CLIENT_LR, and what a worker warms up with.
 */
export const DEFAULT_LOCAL_SGD = { batchSize: 32, learningRate: 0.1 } as const;

type Rule =
  | { env: string; kind: 'int'; min: number; max?: number }
  | { env: string; kind: 'number'; min: number; max?: number }
  | { env: string; kind: 'enum'; values: readonly string[] };

const RULES: Readonly<Record<keyof RunDefaults, Rule>> = {
  strategy: { env: 'TRIBUTARY_STRATEGY', kind: 'enum', values: ['fedbuff', 'fedavg'] },
  bufferSize: { env: 'TRIBUTARY_BUFFER_K', kind: 'int', min: 1 },
  concurrency: { env: 'TRIBUTARY_CONCURRENCY', kind: 'int', min: 1 },
  maxStaleness: { env: 'TRIBUTARY_MAX_STALENESS', kind: 'int', min: 0 },
  staleness: { env: 'TRIBUTARY_STALENESS', kind: 'enum', values: ['constant', 'polynomial', 'hinge'] },
  serverOptimizer: {
    env: 'TRIBUTARY_SERVER_OPTIMIZER',
    kind: 'enum',
    values: ['sgd', 'momentum', 'adam', 'yogi', 'adagrad'],
  },
  serverLearningRate: { env: 'TRIBUTARY_SERVER_LR', kind: 'number', min: 0 },
  localEpochs: { env: 'TRIBUTARY_LOCAL_EPOCHS', kind: 'int', min: 1 },
  localSteps: { env: 'TRIBUTARY_LOCAL_STEPS', kind: 'int', min: 0 },
  batchSize: { env: 'TRIBUTARY_BATCH_SIZE', kind: 'int', min: 1 },
  learningRate: { env: 'TRIBUTARY_CLIENT_LR', kind: 'number', min: 0 },
  proximalMu: { env: 'TRIBUTARY_PROXIMAL_MU', kind: 'number', min: 0 },
  taskDeadlineMs: { env: 'TRIBUTARY_TASK_DEADLINE_MS', kind: 'int', min: 100 },
  targetAccuracy: { env: 'TRIBUTARY_TARGET_ACCURACY', kind: 'number', min: 0, max: 1 },
  maxVersions: { env: 'TRIBUTARY_MAX_VERSIONS', kind: 'int', min: 0 },
  maxWallSeconds: { env: 'TRIBUTARY_MAX_WALL_SECONDS', kind: 'number', min: 0 },
  evaluateEvery: { env: 'TRIBUTARY_EVALUATE_EVERY', kind: 'int', min: 1 },
  federatedEvaluateEvery: { env: 'TRIBUTARY_FEDERATED_EVALUATE_EVERY', kind: 'int', min: 0 },
};

/** The environment variable each run default stands for (documented in docs/configuration.md). */
export const RUN_DEFAULT_ENV: Readonly<Record<keyof RunDefaults, string>> = Object.fromEntries(
  Object.entries(RULES).map(([key, rule]) => [key, rule.env]),
) as Record<keyof RunDefaults, string>;

/** One problem per bad field, named `defaults.<field>`; empty when all is well. */
export function runDefaultsProblems(defaults: unknown): string[] {
  if (defaults === undefined) return [];
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults))
    return ['defaults: must be an object'];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(defaults)) {
    const rule = RULES[key as keyof RunDefaults];
    if (!rule) {
      problems.push(`defaults.${key}: unknown (known: ${Object.keys(RULES).join(', ')})`);
      continue;
    }
    if (value === undefined) continue;
    if (rule.kind === 'enum') {
      if (!rule.values.includes(value as string))
        problems.push(
          `defaults.${key}: must be one of ${rule.values.join(', ')}, got ${JSON.stringify(value)}`,
        );
      continue;
    }
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (rule.kind === 'number' || Number.isInteger(value)) &&
      value >= rule.min &&
      (rule.max === undefined || value <= rule.max);
    if (!ok) {
      const range = [
        rule.kind === 'int' ? 'a whole number' : 'a number',
        `>= ${rule.min}`,
        rule.max === undefined ? '' : `<= ${rule.max}`,
      ]
        .filter(Boolean)
        .join(' ');
      problems.push(`defaults.${key}: must be ${range}, got ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

/** The defaults as environment entries; spread them *under* the real environment. */
export function runDefaultsAsEnv(defaults: RunDefaults | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(defaults ?? {})) {
    const rule = RULES[key as keyof RunDefaults];
    if (rule && value !== undefined) env[rule.env] = String(value);
  }
  return env;
}
