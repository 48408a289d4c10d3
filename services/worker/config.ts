/** The worker's configuration: environment variables, validated once at start-up, then frozen. */
import { EnvReader } from '../../lib/config.js';
import { DEFAULT_CHUNK_BYTES } from '../../lib/core/limits.js';
import type { PartitionSpec } from '../../lib/core/partition.js';
import { TENSOR_ENCODINGS, type TensorEncoding } from '../../lib/core/tensors.js';
import type { BackendName } from '../../lib/ml/backend.js';
import { defaultTaskSpec } from '../../lib/task/load.js';
import { DEFAULT_DEVICE_MS_PER_SAMPLE, type DelayBasis, type DelayModel, type OutageModel } from './delay.js';
import { readClientSecurity, type ClientSecurity } from '../../lib/security/client.js';
import { loadSigningKey, type SigningKey } from '../../lib/security/signing.js';
import { readFileSync } from 'node:fs';
import { KAFKA_CLIENTS, type KafkaClientChoice } from '../../lib/kafka/sender.js';
import { readParentPid } from '../../lib/run/parent.js';
import type { WarmUpBudget } from './warm-up.js';

export interface WorkerConfig {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly jobId: string;
  readonly workerId: string;
  readonly silo: string;
  /** This worker's share of a simulated split (the task's data function sees it): index of count. */
  readonly shardIndex: number;
  readonly shardCount: number;
  readonly partition: PartitionSpec;
  /** The task file (or directory holding task.ts); its config comes from TRIBUTARY_TASK_CONFIG. */
  readonly taskSpec: string;
  readonly encoding: TensorEncoding;
  readonly maxChunkBytes: number;
  /** Bytes of recent global models kept (at least two versions whatever the model's size). */
  readonly modelCacheBytes: number;
  readonly backend: BackendName | null;
  /** Native TensorFlow's intra-op threads (lib/ml/backend.ts setNativeThreads); null: every core. */
  readonly tfThreads: number | null;
  readonly delay: DelayModel;
  /**
   * What a delay multiplier multiplies: the CPU time training took (default), its wall time, or a
   * simulated device's time (./delay.ts). On a shared host wall time includes waiting for a core,
   * which the multiplier would scale too.
   */
  readonly delayBasis: DelayBasis;
  /** On the `device` delay basis: the simulated device's milliseconds per sample trained. */
  readonly deviceMsPerSample: number;
  readonly dropoutProbability: number;
  /** A simulated intermittent site: offline for `forMs` of every `everyMs` (0: always online). */
  readonly outage: OutageModel;
  readonly checkInIntervalMs: number;
  readonly seed: number;
  /**
   * The client of what the worker sends on its own (check-ins, single-record updates, reports):
   * `auto` takes librdkafka when its addon loads, else kafkajs (lib/kafka/sender.ts).
   */
  readonly kafkaClient: KafkaClientChoice;
  /** How this process authenticates to Kafka and the registry (lib/security/client.ts). */
  readonly security: ClientSecurity;
  /** The silo's Ed25519 key: every update is signed (ModelUpdate v2) when set. */
  readonly signingKey: SigningKey | null;
  /**
   * A fleet simulator (./fleet.ts): this process hosts this many virtual workers, `<workerId>-0000`
   * and on (0: it is one worker). Virtual workers train with the synthetic trainer.
   */
  readonly virtualWorkers: number;
  /** `task`: the task's model and data; `synthetic`: a delta after `syntheticTrainMs` (./synthetic.ts). */
  readonly trainer: 'task' | 'synthetic';
  readonly syntheticTrainMs: number;
  /**
   * Local training run and thrown away before the worker checks in, so its first tasks do not pay
   * for a cold engine (./warm-up.ts): this many steps, or until this much CPU time is spent.
   */
  readonly warmUp: WarmUpBudget;
  /** The launcher to stop with (TRIBUTARY_PARENT_PID, lib/run/parent.ts), or null. */
  readonly parentPid: number | null;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): Readonly<WorkerConfig> {
  const r = new EnvReader(env);
  const workerId = r.string('TRIBUTARY_WORKER_ID');
  const partitionKind = r.oneOf('TRIBUTARY_PARTITION', ['iid', 'dirichlet', 'shards'] as const, 'dirichlet');
  const partition: PartitionSpec =
    partitionKind === 'iid'
      ? { kind: 'iid' }
      : partitionKind === 'shards'
        ? {
            kind: 'shards',
            shardsPerClient: r.number('TRIBUTARY_SHARDS_PER_CLIENT', 2, { integer: true, min: 1 }),
          }
        : { kind: 'dirichlet', alpha: r.number('TRIBUTARY_DIRICHLET_ALPHA', 0.5, { min: 1e-3 }) };
  const delayKind = r.oneOf(
    'TRIBUTARY_DELAY',
    ['none', 'fixed', 'half-normal', 'log-normal'] as const,
    'none',
  );
  const delay: DelayModel =
    delayKind === 'none'
      ? { kind: 'none' }
      : delayKind === 'fixed'
        ? { kind: 'fixed', multiplier: r.number('TRIBUTARY_DELAY_MULTIPLIER', 1, { min: 1 }) }
        : {
            kind: delayKind,
            sigma: r.number('TRIBUTARY_DELAY_SIGMA', 0.5, { min: 0 }),
            scale: r.number('TRIBUTARY_DELAY_SCALE', 1, { min: 0 }),
          };
  const delayBasis = r.oneOf('TRIBUTARY_DELAY_BASIS', ['cpu', 'wall', 'device'] as const, 'cpu');
  const deviceMsPerSample = r.number('TRIBUTARY_DEVICE_MS_PER_SAMPLE', DEFAULT_DEVICE_MS_PER_SAMPLE, {
    min: 0,
  });
  const shardIndex = r.number('TRIBUTARY_SHARD_INDEX', 0, { integer: true, min: 0 });
  const shardCount = r.number('TRIBUTARY_SHARD_COUNT', 1, { integer: true, min: 1 });
  r.require(
    shardIndex < shardCount,
    `TRIBUTARY_SHARD_INDEX (${shardIndex}) must be below TRIBUTARY_SHARD_COUNT (${shardCount})`,
  );
  const outageEvery = r.number('TRIBUTARY_OUTAGE_EVERY_MS', 0, { integer: true, min: 0 });
  const outageFor = r.number('TRIBUTARY_OUTAGE_FOR_MS', 0, { integer: true, min: 0 });
  r.require(
    outageFor === 0 || outageFor < outageEvery,
    `TRIBUTARY_OUTAGE_FOR_MS (${outageFor}) must be below TRIBUTARY_OUTAGE_EVERY_MS (${outageEvery})`,
  );
  const backend = r.optionalString('TRIBUTARY_BACKEND');
  r.require(
    backend === null || ['tensorflow', 'wasm', 'cpu'].includes(backend),
    `TRIBUTARY_BACKEND: must be tensorflow, wasm or cpu, got "${backend}"`,
  );
  const silo = r.string('TRIBUTARY_SILO', `silo-${workerId}`);
  // A provisioned silo's ACLs cover only its own worker ids (its groups and transactional ids).
  const idPrefix = r.optionalString('TRIBUTARY_WORKER_ID_PREFIX');
  r.require(
    idPrefix === null || workerId.startsWith(idPrefix),
    `TRIBUTARY_WORKER_ID: must start with "${idPrefix}" (this silo's credentials cover only those ids), got "${workerId}"`,
  );
  const keyFile = r.optionalString('TRIBUTARY_SIGNING_KEY_FILE');
  let signingKey: SigningKey | null = null;
  if (keyFile !== null) {
    try {
      signingKey = loadSigningKey(silo, readFileSync(keyFile, 'utf8'));
    } catch (error) {
      r.problems.push(`TRIBUTARY_SIGNING_KEY_FILE: ${keyFile}: ${(error as Error).message}`);
    }
  }
  const virtualWorkers = r.number('TRIBUTARY_VIRTUAL_WORKERS', 0, { integer: true, min: 0, max: 10_000 });
  const trainer = r.oneOf(
    'TRIBUTARY_TRAINER',
    ['task', 'synthetic'] as const,
    virtualWorkers > 0 ? 'synthetic' : 'task',
  );
  r.require(
    virtualWorkers === 0 || trainer === 'synthetic',
    'TRIBUTARY_TRAINER: virtual workers (TRIBUTARY_VIRTUAL_WORKERS) train only with the synthetic trainer',
  );
  return r.done({
    virtualWorkers,
    trainer,
    syntheticTrainMs: r.number('TRIBUTARY_SYNTHETIC_TRAIN_MS', 500, { integer: true, min: 0 }),
    warmUp: {
      steps: r.number('TRIBUTARY_WARM_UP_STEPS', 300, { integer: true, min: 0 }),
      maxCpuMs: r.number('TRIBUTARY_WARM_UP_MAX_CPU_MS', 3000, { integer: true, min: 0 }),
    },
    kafkaClient: r.oneOf('TRIBUTARY_KAFKA_CLIENT', ['auto', ...KAFKA_CLIENTS] as const, 'auto'),
    security: readClientSecurity(r, env),
    signingKey,
    brokers: r.list('KAFKA_BROKERS', []),
    registryUrl: r.string('SCHEMA_REGISTRY_URL'),
    jobId: r.string('TRIBUTARY_JOB_ID', 'mnist'),
    workerId,
    silo,
    shardIndex,
    shardCount,
    partition,
    taskSpec: r.string('TRIBUTARY_TASK', defaultTaskSpec()),
    encoding: r.oneOf('TRIBUTARY_ENCODING', TENSOR_ENCODINGS, 'FLOAT32'),
    maxChunkBytes: r.number('TRIBUTARY_MAX_CHUNK_BYTES', DEFAULT_CHUNK_BYTES, { integer: true, min: 1024 }),
    modelCacheBytes: r.number('TRIBUTARY_MODEL_CACHE_BYTES', 64 * 1024 * 1024, { integer: true, min: 0 }),
    backend: backend as BackendName | null,
    tfThreads: r.number('TRIBUTARY_TF_THREADS', 0, { integer: true, min: 0, max: 1024 }) || null,
    delay,
    delayBasis,
    deviceMsPerSample,
    dropoutProbability: r.number('TRIBUTARY_DROPOUT', 0, { min: 0, max: 1 }),
    outage: { everyMs: outageEvery, forMs: outageFor },
    checkInIntervalMs: r.number('TRIBUTARY_CHECKIN_INTERVAL_MS', 5000, { integer: true, min: 100 }),
    seed: r.number('TRIBUTARY_SEED', 1, { integer: true }),
    parentPid: readParentPid(r),
  });
}
