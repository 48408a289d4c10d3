/**
 * `tributary coordinator <task>` and `tributary worker <task>`: one service process each, for real
 * deployments. Flags become the service's environment, then the service's own start-up runs (and
 * validates everything, one line per bad field).
 */
import { resolve } from 'node:path';
import type { CommandSpec, Parsed } from './args.js';
import {
  CLUSTER_FLAGS,
  clusterFlagEnv,
  COORDINATOR_FLAGS,
  flagEnv,
  TASK_CONFIG_FLAG,
  taskConfigEnv,
} from './common.js';

export const coordinatorCommand: CommandSpec = {
  name: 'coordinator',
  summary: "run a job's coordinator: owns the global model, leases tasks, folds updates",
  usage: 'tributary coordinator <task> [--job J] [--brokers B --registry URL] [flags]',
  positionals: [{ name: 'task', required: true, help: 'task file, or a directory holding task.ts' }],
  flags: {
    job: {
      type: 'string',
      help: 'job id: names the topics tributary.<job>.* (TRIBUTARY_JOB_ID; mnist if unset)',
    },
    ...CLUSTER_FLAGS,
    ...COORDINATOR_FLAGS,
    'run-dir': {
      type: 'string',
      placeholder: 'dir',
      help: 'where report.json and the chart go (TRIBUTARY_RUN_DIR)',
    },
    'http-port': { type: 'int', min: 0, help: 'status and metrics port, 0 = any (TRIBUTARY_HTTP_PORT)' },
    ...TASK_CONFIG_FLAG,
  },
  details:
    "Every TRIBUTARY_* variable in docs/configuration.md also applies; flags win over it, it wins over the task's defaults.",
};

export const workerCommand: CommandSpec = {
  name: 'worker',
  summary: "run one silo's worker: trains the task's model on the silo's data, publishes updates",
  usage:
    'tributary worker <task> --worker-id W (--silo S [--job J] [--brokers B --registry URL] | --credentials DIR) [flags]',
  positionals: [{ name: 'task', required: true, help: 'task file, or a directory holding task.ts' }],
  flags: {
    silo: { type: 'string', help: 'the silo this worker serves (TRIBUTARY_SILO)' },
    'worker-id': { type: 'string', help: 'this worker, unique in the job (TRIBUTARY_WORKER_ID)' },
    job: { type: 'string', help: 'job id (TRIBUTARY_JOB_ID; mnist if unset)' },
    ...CLUSTER_FLAGS,
    encoding: {
      type: 'string',
      choices: ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'],
      help: 'update encoding (TRIBUTARY_ENCODING)',
    },
    backend: {
      type: 'string',
      choices: ['tensorflow', 'wasm', 'cpu'],
      help: 'TF.js backend (TRIBUTARY_BACKEND)',
    },
    'kafka-client': {
      type: 'string',
      choices: ['auto', 'kafkajs', 'librdkafka'],
      help: 'the client of what the worker sends (TRIBUTARY_KAFKA_CLIENT; auto: librdkafka when it loads)',
    },
    virtual: {
      type: 'int',
      min: 1,
      placeholder: 'n',
      help: 'fleet simulator: host n virtual workers <worker-id>-0000 … (TRIBUTARY_VIRTUAL_WORKERS)',
    },
    trainer: {
      type: 'string',
      choices: ['task', 'synthetic'],
      help: "the task's training, or a synthetic delta (TRIBUTARY_TRAINER; synthetic with --virtual)",
    },
    'train-ms': {
      type: 'int',
      min: 0,
      help: 'synthetic training time per task (TRIBUTARY_SYNTHETIC_TRAIN_MS)',
    },
    ...TASK_CONFIG_FLAG,
  },
  details:
    'Every TRIBUTARY_* worker variable in docs/configuration.md also applies. With --virtual the process is a fleet simulator (docs/fleet.md): each virtual worker has its own id, check-ins, leases and updates.',
};

export function requireWorkerIdentity(parsed: Parsed): void {
  if (parsed.flags['worker-id'] === undefined && !process.env.TRIBUTARY_WORKER_ID)
    parsed.problems.push('--worker-id: required (or TRIBUTARY_WORKER_ID)');
  const bundle = parsed.flags.credentials !== undefined || Boolean(process.env.TRIBUTARY_CREDENTIALS);
  if (parsed.flags.silo === undefined && !process.env.TRIBUTARY_SILO && !bundle)
    parsed.problems.push('--silo: required (or TRIBUTARY_SILO, or --credentials with a silo bundle)');
}

export async function runService(kind: 'coordinator' | 'worker', parsed: Parsed): Promise<void> {
  const env: Record<string, string> = {
    TRIBUTARY_TASK: resolve(parsed.positionals.task as string),
    ...flagEnv(parsed, ['job', ...Object.keys(COORDINATOR_FLAGS)]),
    ...clusterFlagEnv(parsed),
    ...taskConfigEnv(parsed),
  };
  const f = parsed.flags;
  if (f['run-dir'] !== undefined) env.TRIBUTARY_RUN_DIR = resolve(String(f['run-dir']));
  if (f['http-port'] !== undefined) env.TRIBUTARY_HTTP_PORT = String(f['http-port']);
  if (f.silo !== undefined) env.TRIBUTARY_SILO = String(f.silo);
  if (f['worker-id'] !== undefined) env.TRIBUTARY_WORKER_ID = String(f['worker-id']);
  if (f.encoding !== undefined) env.TRIBUTARY_ENCODING = String(f.encoding);
  if (f.backend !== undefined) env.TRIBUTARY_BACKEND = String(f.backend);
  if (f['kafka-client'] !== undefined) env.TRIBUTARY_KAFKA_CLIENT = String(f['kafka-client']);
  if (f.virtual !== undefined) env.TRIBUTARY_VIRTUAL_WORKERS = String(f.virtual);
  if (f.trainer !== undefined) env.TRIBUTARY_TRAINER = String(f.trainer);
  if (f['train-ms'] !== undefined) env.TRIBUTARY_SYNTHETIC_TRAIN_MS = String(f['train-ms']);
  Object.assign(process.env, env);
  await import(kind === 'coordinator' ? '../services/coordinator/main.js' : '../services/worker/main.js');
}
