/** Flags several subcommands share, and how they become the services' environment. */
import type { FlagSpec, Parsed } from './args.js';
import { keyValues } from './args.js';

export const CLUSTER_FLAGS: Record<string, FlagSpec> = {
  brokers: { type: 'string', placeholder: 'host:port,…', help: 'Kafka bootstrap servers (KAFKA_BROKERS)' },
  registry: { type: 'string', placeholder: 'url', help: 'schema registry URL (SCHEMA_REGISTRY_URL)' },
};

export const TASK_CONFIG_FLAG: Record<string, FlagSpec> = {
  set: {
    type: 'list',
    placeholder: 'key=value',
    help: "override one key of the task's config (repeatable)",
  },
};

export const COORDINATOR_FLAGS: Record<string, FlagSpec> = {
  strategy: { type: 'string', choices: ['fedbuff', 'fedavg'], help: 'aggregation (TRIBUTARY_STRATEGY)' },
  'buffer-k': { type: 'int', min: 1, help: 'updates per server step, K (TRIBUTARY_BUFFER_K)' },
  concurrency: { type: 'int', min: 1, help: 'tasks in flight, C (TRIBUTARY_CONCURRENCY)' },
  target: {
    type: 'number',
    min: 0,
    help: 'stop at this test accuracy; 0 = never (TRIBUTARY_TARGET_ACCURACY)',
  },
  'max-versions': { type: 'int', min: 0, help: 'stop after this many versions (TRIBUTARY_MAX_VERSIONS)' },
  'max-seconds': { type: 'number', min: 0, help: 'stop after this wall time (TRIBUTARY_MAX_WALL_SECONDS)' },
};

const COORDINATOR_ENV: Record<string, string> = {
  strategy: 'TRIBUTARY_STRATEGY',
  'buffer-k': 'TRIBUTARY_BUFFER_K',
  concurrency: 'TRIBUTARY_CONCURRENCY',
  target: 'TRIBUTARY_TARGET_ACCURACY',
  'max-versions': 'TRIBUTARY_MAX_VERSIONS',
  'max-seconds': 'TRIBUTARY_MAX_WALL_SECONDS',
  job: 'TRIBUTARY_JOB_ID',
  brokers: 'KAFKA_BROKERS',
  registry: 'SCHEMA_REGISTRY_URL',
};

/** The environment entries the given flags stand for (flags absent: nothing, so task defaults hold). */
export function flagEnv(parsed: Parsed, names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const variable = COORDINATOR_ENV[name];
    const value = parsed.flags[name];
    if (variable && value !== undefined) env[variable] = String(value);
  }
  return env;
}

/** TRIBUTARY_TASK_CONFIG with --set entries merged over what the environment already says. */
export function taskConfigEnv(parsed: Parsed, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const sets = keyValues(parsed.flags.set as string[] | undefined);
  if (Object.keys(sets).length === 0) return {};
  let base: Record<string, unknown> = {};
  try {
    base = env.TRIBUTARY_TASK_CONFIG
      ? (JSON.parse(env.TRIBUTARY_TASK_CONFIG) as Record<string, unknown>)
      : {};
  } catch {
    // the service reports a malformed TRIBUTARY_TASK_CONFIG itself
  }
  return { TRIBUTARY_TASK_CONFIG: JSON.stringify({ ...base, ...sets }) };
}

export const say = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), component: 'tributary', event, ...fields }));
