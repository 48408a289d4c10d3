/** Flags several subcommands share, and how they become the services' environment. */
import { resolve } from 'node:path';
import type { FlagSpec, Parsed } from './args.js';
import { keyValues } from './args.js';
import { EnvReader } from '../lib/config.js';
import { readClientSecurity, withCredentials, type ClientSecurity } from '../lib/security/client.js';

export const CLUSTER_FLAGS: Record<string, FlagSpec> = {
  brokers: { type: 'string', placeholder: 'host:port,…', help: 'Kafka bootstrap servers (KAFKA_BROKERS)' },
  registry: { type: 'string', placeholder: 'url', help: 'schema registry URL (SCHEMA_REGISTRY_URL)' },
  credentials: {
    type: 'string',
    placeholder: 'dir',
    help: 'a credentials bundle from tributary provision (TRIBUTARY_CREDENTIALS)',
  },
  'sasl-mechanism': {
    type: 'string',
    choices: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    help: 'Kafka SASL mechanism (KAFKA_SASL_MECHANISM; the password only from KAFKA_SASL_PASSWORD)',
  },
  'sasl-username': { type: 'string', help: 'Kafka SASL user (KAFKA_SASL_USERNAME)' },
  'tls-ca': { type: 'string', placeholder: 'file', help: 'PEM CA bundle for Kafka TLS (KAFKA_TLS_CA_FILE)' },
  'tls-cert': {
    type: 'string',
    placeholder: 'file',
    help: 'PEM client certificate, mutual TLS (KAFKA_TLS_CERT_FILE)',
  },
  'tls-key': { type: 'string', placeholder: 'file', help: 'PEM client key, mutual TLS (KAFKA_TLS_KEY_FILE)' },
};

/** The cluster flags, as the environment names they stand for. */
export const CLUSTER_FLAG_NAMES = Object.keys(CLUSTER_FLAGS);

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
  'min-workers': {
    type: 'int',
    min: 0,
    help: 'lease nothing until this many workers have checked in (TRIBUTARY_MIN_WORKERS)',
  },
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
  'min-workers': 'TRIBUTARY_MIN_WORKERS',
  target: 'TRIBUTARY_TARGET_ACCURACY',
  'max-versions': 'TRIBUTARY_MAX_VERSIONS',
  'max-seconds': 'TRIBUTARY_MAX_WALL_SECONDS',
  job: 'TRIBUTARY_JOB_ID',
  brokers: 'KAFKA_BROKERS',
  registry: 'SCHEMA_REGISTRY_URL',
  credentials: 'TRIBUTARY_CREDENTIALS',
  'sasl-mechanism': 'KAFKA_SASL_MECHANISM',
  'sasl-username': 'KAFKA_SASL_USERNAME',
  'tls-ca': 'KAFKA_TLS_CA_FILE',
  'tls-cert': 'KAFKA_TLS_CERT_FILE',
  'tls-key': 'KAFKA_TLS_KEY_FILE',
};

/** The cluster flags as environment entries, file and directory paths made absolute. */
export function clusterFlagEnv(parsed: Parsed): Record<string, string> {
  const env = flagEnv(parsed, CLUSTER_FLAG_NAMES);
  for (const name of ['credentials', 'tls-ca', 'tls-cert', 'tls-key'])
    if (parsed.flags[name] !== undefined)
      env[COORDINATOR_ENV[name] as string] = resolve(String(parsed.flags[name]));
  return env;
}

/**
 * Where and as whom a command connects: flags over the environment over a credentials bundle.
 * Returns problems (one line each) instead of throwing.
 */
export function clusterConnection(
  parsed: Parsed,
  env: NodeJS.ProcessEnv = process.env,
): { brokers: string[]; registryUrl: string; security: ClientSecurity } | { problems: string[] } {
  const flags = clusterFlagEnv(parsed);
  let merged: NodeJS.ProcessEnv;
  try {
    merged = withCredentials({ ...env, ...flags });
  } catch (error) {
    return { problems: [(error as Error).message.replace(/^invalid configuration:\n\s*- /, '')] };
  }
  const r = new EnvReader(merged);
  const security = readClientSecurity(r, merged);
  const brokers = r.list('KAFKA_BROKERS', []);
  const registryUrl = merged.SCHEMA_REGISTRY_URL ?? '';
  if (brokers.length === 0)
    r.problems.push('--brokers: required (or KAFKA_BROKERS, or a credentials bundle)');
  return r.problems.length > 0 ? { problems: r.problems } : { brokers, registryUrl, security };
}

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
