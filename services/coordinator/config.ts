/**
 * The coordinator's job: model, data, aggregation, pacing and stop conditions. Read from the
 * environment (and an optional JSON job file named by TRIBUTARY_JOB_FILE, whose keys are the same
 * variable names), validated once with one message per bad field, then frozen.
 */
import { readFileSync } from 'node:fs';
import { EnvReader } from '../../lib/config.js';
import { validateFedBuffConfig, type FedBuffConfig } from '../../lib/core/fedbuff/config.js';
import type { ServerOptimizerConfig } from '../../lib/core/fedbuff/server-optimizer.js';
import type { StalenessPolicy } from '../../lib/core/fedbuff/staleness.js';
import { DEFAULT_INFLUENCE_GUARD } from '../../lib/core/fedbuff/guard.js';
import { ConfigError } from '../../lib/core/errors.js';
import { DEFAULT_CHUNK_BYTES, TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';
import { TENSOR_ENCODINGS, type TensorEncoding } from '../../lib/core/tensors.js';
import { KAFKA_CLIENTS, type KafkaClientChoice } from '../../lib/kafka/sender.js';
import { readParentPid } from '../../lib/run/parent.js';
import { isSecured, readClientSecurity, type ClientSecurity } from '../../lib/security/client.js';
import { parseSiloKeys, type SiloKeys, type VerificationPolicy } from '../../lib/security/signing.js';
import { DEFAULT_LOCAL_SGD } from '../../lib/task/defaults.js';
import { defaultTaskSpec } from '../../lib/task/load.js';
import { DEFAULT_REASSEMBLY_LIMITS, type ReassemblyLimits } from './reassembly.js';
import { DEFAULT_REJECTION_LIMITS, type RejectionLimits } from './rejections.js';

export interface CoordinatorConfig {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly runId: string;
  readonly runDir: string | null;
  /** The task file (or a directory holding task.ts); its own config comes from TRIBUTARY_TASK_CONFIG. */
  readonly taskSpec: string;
  /** Seed of version 0 for tasks with seeded initial weights. */
  readonly modelSeed: number;
  /** Native TensorFlow's intra-op threads for evaluation (lib/ml/backend.ts); null: every core. */
  readonly tfThreads: number | null;
  readonly aggregation: FedBuffConfig;
  readonly strategyName: string;
  readonly concurrency: number;
  /** No lease until this many workers have checked in (0: lease to the first). */
  readonly minWorkers: number;
  readonly taskDeadlineMs: number;
  readonly training: {
    localEpochs: number;
    localSteps: number | null;
    batchSize: number;
    learningRate: number;
    proximalMu: number | null;
  };
  readonly evaluateEvery: number;
  /** About how long one batch of central evaluation takes (ms): folds wait at most that long. */
  readonly evaluationSliceMs: number;
  /** Where central evaluation runs: a thread of its own (./threaded-evaluator.ts), or the main thread. */
  readonly evaluationThread: boolean;
  /**
   * Federated evaluation: every `every` versions (0: never) each live worker is asked to evaluate
   * the version on its silo's holdout; a round closes when all have answered or at `deadlineMs`.
   */
  readonly federatedEvaluation: { readonly every: number; readonly deadlineMs: number };
  readonly targetAccuracy: number | null;
  readonly maxVersions: number | null;
  readonly maxWallSeconds: number | null;
  readonly modelEncoding: TensorEncoding;
  readonly maxChunkBytes: number;
  readonly httpPort: number;
  readonly tickMs: number;
  readonly sessionTimeoutMs: number;
  /** Incomplete chunked updates: budgets, span and age (./reassembly.ts); maxPayloadBytes comes from the model. */
  readonly reassembly: Omit<ReassemblyLimits, 'maxPayloadBytes'>;
  /** Rejections waiting for a commit (./rejections.ts). */
  readonly rejections: RejectionLimits;
  /** Watchdog on one record's decode (registry lookups included); past it the record is rejected. */
  readonly recordTimeoutMs: number;
  /** The coordinator's Kafka transactions; at most the broker's transaction.max.timeout.ms. */
  readonly transactionTimeoutMs: number;
  /**
   * The client of server steps: `librdkafka` takes librdkafka's transactional producer; `auto` and
   * `kafkajs` keep kafkajs's (./opening.ts says why). Tasks, events and reading stay on kafkajs.
   */
  readonly kafkaClient: KafkaClientChoice;
  /** The launcher to stop with (TRIBUTARY_PARENT_PID, lib/run/parent.ts), or null. */
  readonly parentPid: number | null;
  /** How this process authenticates to Kafka and the registry (lib/security/client.ts). */
  readonly security: ClientSecurity;
  /** Silo public keys, and whether unsigned updates are refused (on by default with Kafka security). */
  readonly signatures: VerificationPolicy;
}

/**
 * `defaults` (a task's run defaults, as environment names) sit under the job file, which sits under
 * the environment.
 */
export function loadCoordinatorConfig(
  env: NodeJS.ProcessEnv = process.env,
  defaults: Record<string, string> = {},
): Readonly<CoordinatorConfig> {
  let merged: NodeJS.ProcessEnv = { ...defaults, ...env };
  if (env.TRIBUTARY_JOB_FILE) {
    try {
      const file = JSON.parse(readFileSync(env.TRIBUTARY_JOB_FILE, 'utf8')) as Record<string, unknown>;
      merged = {
        ...defaults,
        ...Object.fromEntries(Object.entries(file).map(([k, v]) => [k, String(v)])),
        ...env,
      };
    } catch (cause) {
      throw new ConfigError([
        `TRIBUTARY_JOB_FILE: cannot read ${env.TRIBUTARY_JOB_FILE}: ${(cause as Error).message}`,
      ]);
    }
  }
  const r = new EnvReader(merged);
  const jobId = r.string('TRIBUTARY_JOB_ID', 'mnist');
  r.require(
    /^[A-Za-z0-9_-]+$/.test(jobId),
    `TRIBUTARY_JOB_ID: letters, digits, - and _ only (it names topics), got "${jobId}"`,
  );
  const strategy = r.oneOf('TRIBUTARY_STRATEGY', ['fedbuff', 'fedavg'] as const, 'fedbuff');
  const concurrency = r.number('TRIBUTARY_CONCURRENCY', 4, { integer: true, min: 1 });
  const bufferSize = r.number('TRIBUTARY_BUFFER_K', strategy === 'fedavg' ? concurrency : 4, {
    integer: true,
    min: 1,
  });
  const stalenessKind = r.oneOf(
    'TRIBUTARY_STALENESS',
    ['constant', 'polynomial', 'hinge'] as const,
    strategy === 'fedavg' ? 'constant' : 'polynomial',
  );
  const staleness: StalenessPolicy =
    stalenessKind === 'constant'
      ? { kind: 'constant' }
      : stalenessKind === 'hinge'
        ? {
            kind: 'hinge',
            a: r.number('TRIBUTARY_HINGE_A', 10, { min: 0 }),
            b: r.number('TRIBUTARY_HINGE_B', 4, { min: 0 }),
          }
        : { kind: 'polynomial', exponent: r.number('TRIBUTARY_STALENESS_EXPONENT', 0.5, { min: 0, max: 1 }) };
  const optimizerKind = r.oneOf(
    'TRIBUTARY_SERVER_OPTIMIZER',
    ['sgd', 'momentum', 'adam', 'yogi', 'adagrad'] as const,
    'sgd',
  );
  const serverLr = r.number(
    'TRIBUTARY_SERVER_LR',
    optimizerKind === 'sgd' || optimizerKind === 'momentum' ? 1 : 0.01,
    { min: 0 },
  );
  const tau = r.number('TRIBUTARY_SERVER_TAU', 1e-3, { min: 0 });
  const beta1 = r.number('TRIBUTARY_SERVER_BETA1', 0.9, { min: 0, max: 0.999999 });
  const beta2 = r.number('TRIBUTARY_SERVER_BETA2', 0.99, { min: 0, max: 0.999999 });
  const serverOptimizer: ServerOptimizerConfig =
    optimizerKind === 'sgd'
      ? { kind: 'sgd', learningRate: serverLr }
      : optimizerKind === 'momentum'
        ? {
            kind: 'momentum',
            learningRate: serverLr,
            momentum: r.number('TRIBUTARY_SERVER_MOMENTUM', 0.9, { min: 0, max: 0.999999 }),
          }
        : optimizerKind === 'adagrad'
          ? { kind: 'adagrad', learningRate: serverLr, tau }
          : { kind: optimizerKind, learningRate: serverLr, beta1, beta2, tau };
  const maxStaleness = r.number('TRIBUTARY_MAX_STALENESS', strategy === 'fedavg' ? 0 : 20, {
    integer: true,
    min: 0,
  });
  const localSteps = r.number('TRIBUTARY_LOCAL_STEPS', 0, { integer: true, min: 0 });
  const runId = r.string('TRIBUTARY_RUN_ID', `${jobId}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const reduction = r.oneOf('TRIBUTARY_REDUCTION', ['mean', 'median', 'trimmed-mean'] as const, 'mean');
  const clipNorm = r.number('TRIBUTARY_CLIP_NORM', 0, { min: 0 });
  const maxDeltaNorm = r.number('TRIBUTARY_MAX_DELTA_NORM', 1e4, { min: 0 });
  const maxExamples = r.number('TRIBUTARY_MAX_EXAMPLES', 1e9, { integer: true, min: 0 });
  const targetAccuracy = r.number('TRIBUTARY_TARGET_ACCURACY', 0, { min: 0, max: 1 });
  const maxVersions = r.number('TRIBUTARY_MAX_VERSIONS', 0, { integer: true, min: 0 });
  const maxWallSeconds = r.number('TRIBUTARY_MAX_WALL_SECONDS', 0, { min: 0 });
  r.require(
    strategy !== 'fedavg' || maxStaleness === 0,
    'TRIBUTARY_MAX_STALENESS: must be 0 for the synchronous fedavg strategy',
  );
  // For fedavg K is C; only a K the user set (not a task default) that contradicts it is an error.
  const userSetK = (env.TRIBUTARY_BUFFER_K ?? merged.TRIBUTARY_BUFFER_K) !== defaults.TRIBUTARY_BUFFER_K;
  r.require(
    bufferSize <= concurrency || strategy === 'fedbuff' || !userSetK,
    `TRIBUTARY_BUFFER_K (${bufferSize}) cannot exceed TRIBUTARY_CONCURRENCY (${concurrency}) for fedavg`,
  );
  r.require(
    targetAccuracy > 0 || maxVersions > 0 || maxWallSeconds > 0,
    'stop condition: set at least one of TRIBUTARY_TARGET_ACCURACY, TRIBUTARY_MAX_VERSIONS, TRIBUTARY_MAX_WALL_SECONDS',
  );

  const aggregationInput: FedBuffConfig = {
    jobId,
    bufferSize: strategy === 'fedavg' ? concurrency : bufferSize,
    maxStaleness,
    staleness,
    averaging: r.oneOf('TRIBUTARY_AVERAGING', ['uniform', 'examples'] as const, 'examples'),
    serverOptimizer,
    reduction:
      reduction === 'trimmed-mean'
        ? {
            kind: 'trimmed-mean',
            trimFraction: r.number('TRIBUTARY_TRIM_FRACTION', 0.1, { min: 0, max: 0.49 }),
          }
        : { kind: reduction },
    clipNorm: clipNorm > 0 ? clipNorm : null,
    maxDeltaNorm: maxDeltaNorm > 0 ? maxDeltaNorm : null,
    maxExamples: maxExamples > 0 ? maxExamples : null,
    servedAverage: r.number('TRIBUTARY_SERVED_AVERAGE', 0, { min: 0, max: 0.999999 }),
    guard:
      r.oneOf('TRIBUTARY_GUARD', ['on', 'off'] as const, 'on') === 'off'
        ? null
        : {
            window: r.number('TRIBUTARY_GUARD_WINDOW', DEFAULT_INFLUENCE_GUARD.window, {
              integer: true,
              min: 1,
            }),
            minSamples: r.number('TRIBUTARY_GUARD_MIN_SAMPLES', DEFAULT_INFLUENCE_GUARD.minSamples, {
              integer: true,
              min: 1,
            }),
            clipFactor: r.number('TRIBUTARY_GUARD_CLIP_FACTOR', DEFAULT_INFLUENCE_GUARD.clipFactor, {
              min: 1,
            }),
            rejectFactor: r.number('TRIBUTARY_GUARD_REJECT_FACTOR', DEFAULT_INFLUENCE_GUARD.rejectFactor, {
              min: 1,
            }),
            examplesFactor: r.number(
              'TRIBUTARY_GUARD_EXAMPLES_FACTOR',
              DEFAULT_INFLUENCE_GUARD.examplesFactor,
              {
                min: 1,
              },
            ),
            bootstrapFactor: r.number(
              'TRIBUTARY_GUARD_BOOTSTRAP_FACTOR',
              DEFAULT_INFLUENCE_GUARD.bootstrapFactor,
              { min: 0 },
            ),
          },
  };
  let aggregation = aggregationInput;
  try {
    aggregation = validateFedBuffConfig(aggregationInput);
  } catch (error) {
    if (error instanceof ConfigError) r.problems.push(...error.problems.map((p) => `aggregation ${p}`));
    else throw error;
  }
  const security = readClientSecurity(r, merged);
  const signatures = readSignaturePolicy(r, isSecured(security));
  return r.done({
    security,
    signatures,
    brokers: r.list('KAFKA_BROKERS', []),
    registryUrl: r.string('SCHEMA_REGISTRY_URL'),
    runId,
    runDir: r.optionalString('TRIBUTARY_RUN_DIR'),
    taskSpec: r.string('TRIBUTARY_TASK', defaultTaskSpec()),
    modelSeed: r.number('TRIBUTARY_MODEL_SEED', 7, { integer: true }),
    tfThreads: r.number('TRIBUTARY_TF_THREADS', 0, { integer: true, min: 0, max: 1024 }) || null,
    aggregation,
    strategyName:
      strategy === 'fedavg' ? `fedavg(K=${concurrency})` : `fedbuff(K=${bufferSize},C=${concurrency})`,
    concurrency,
    taskDeadlineMs: r.number('TRIBUTARY_TASK_DEADLINE_MS', 60_000, { integer: true, min: 100 }),
    minWorkers: r.number('TRIBUTARY_MIN_WORKERS', 0, { integer: true, min: 0 }),
    training: {
      localEpochs: r.number('TRIBUTARY_LOCAL_EPOCHS', 1, { integer: true, min: 1 }),
      localSteps: localSteps > 0 ? localSteps : null,
      batchSize: r.number('TRIBUTARY_BATCH_SIZE', DEFAULT_LOCAL_SGD.batchSize, { integer: true, min: 1 }),
      learningRate: r.number('TRIBUTARY_CLIENT_LR', DEFAULT_LOCAL_SGD.learningRate, { min: 0 }),
      proximalMu: r.number('TRIBUTARY_PROXIMAL_MU', 0, { min: 0 }) || null,
    },
    evaluateEvery: r.number('TRIBUTARY_EVALUATE_EVERY', 1, { integer: true, min: 1 }),
    evaluationSliceMs: r.number('TRIBUTARY_EVALUATION_SLICE_MS', 10, { min: 1, max: 10_000 }),
    evaluationThread: r.oneOf('TRIBUTARY_EVALUATION_THREAD', ['on', 'off'] as const, 'off') === 'on',
    federatedEvaluation: {
      every: r.number('TRIBUTARY_FEDERATED_EVALUATE_EVERY', 0, { integer: true, min: 0 }),
      deadlineMs: r.number('TRIBUTARY_FEDERATED_EVALUATION_DEADLINE_MS', 30_000, { integer: true, min: 100 }),
    },
    targetAccuracy: targetAccuracy > 0 ? targetAccuracy : null,
    maxVersions: maxVersions > 0 ? maxVersions : null,
    maxWallSeconds: maxWallSeconds > 0 ? maxWallSeconds : null,
    modelEncoding: r.oneOf('TRIBUTARY_MODEL_ENCODING', TENSOR_ENCODINGS, 'FLOAT32'),
    maxChunkBytes: r.number('TRIBUTARY_MAX_CHUNK_BYTES', DEFAULT_CHUNK_BYTES, { integer: true, min: 1024 }),
    httpPort: r.number('TRIBUTARY_HTTP_PORT', 0, { integer: true, min: 0, max: 65535 }),
    tickMs: r.number('TRIBUTARY_TICK_MS', 200, { integer: true, min: 10 }),
    // The broker accepts 6 s to 300 s by default (group.min/max.session.timeout.ms).
    sessionTimeoutMs: r.number('TRIBUTARY_SESSION_TIMEOUT_MS', 10_000, {
      integer: true,
      min: 6000,
      max: 300_000,
    }),
    reassembly: {
      maxPending: r.number('TRIBUTARY_REASSEMBLY_MAX_PENDING', DEFAULT_REASSEMBLY_LIMITS.maxPending, {
        integer: true,
        min: 1,
      }),
      maxPendingPerOwner: r.number(
        'TRIBUTARY_REASSEMBLY_MAX_PER_WORKER',
        DEFAULT_REASSEMBLY_LIMITS.maxPendingPerOwner,
        { integer: true, min: 1 },
      ),
      maxPendingBytes: r.number('TRIBUTARY_REASSEMBLY_MAX_BYTES', DEFAULT_REASSEMBLY_LIMITS.maxPendingBytes, {
        integer: true,
        min: 1024,
      }),
      maxSpanRecords: r.number(
        'TRIBUTARY_REASSEMBLY_SPAN_RECORDS',
        DEFAULT_REASSEMBLY_LIMITS.maxSpanRecords,
        {
          integer: true,
          min: 1,
        },
      ),
      maxAgeMs: r.number('TRIBUTARY_REASSEMBLY_MAX_AGE_MS', DEFAULT_REASSEMBLY_LIMITS.maxAgeMs, {
        integer: true,
        min: 100,
      }),
    },
    rejections: {
      ...DEFAULT_REJECTION_LIMITS,
      maxBatchCount: r.number('TRIBUTARY_REJECTION_BATCH_COUNT', DEFAULT_REJECTION_LIMITS.maxBatchCount, {
        integer: true,
        min: 1,
      }),
      maxBatchBytes: r.number('TRIBUTARY_REJECTION_BATCH_BYTES', DEFAULT_REJECTION_LIMITS.maxBatchBytes, {
        integer: true,
        min: 64 * 1024,
      }),
    },
    recordTimeoutMs: r.number('TRIBUTARY_RECORD_TIMEOUT_MS', 30_000, { integer: true, min: 100 }),
    transactionTimeoutMs: r.number('TRIBUTARY_TRANSACTION_TIMEOUT_MS', TRANSACTION_TIMEOUT_MS, {
      integer: true,
      min: 1000,
    }),
    kafkaClient: r.oneOf('TRIBUTARY_KAFKA_CLIENT', ['auto', ...KAFKA_CLIENTS] as const, 'auto'),
    parentPid: readParentPid(r),
  });
}

function readSignaturePolicy(r: EnvReader, secured: boolean): VerificationPolicy {
  const keysFile = r.optionalString('TRIBUTARY_SILO_KEYS_FILE');
  let keys: SiloKeys = new Map();
  if (keysFile !== null) {
    try {
      keys = parseSiloKeys(readFileSync(keysFile, 'utf8'));
    } catch (error) {
      r.problems.push(`TRIBUTARY_SILO_KEYS_FILE: ${keysFile}: ${(error as Error).message}`);
    }
  }
  const required =
    r.oneOf('TRIBUTARY_REQUIRE_SIGNATURES', ['true', 'false'] as const, secured ? 'true' : 'false') ===
    'true';
  r.require(
    !required || keysFile === null || keys.size > 0,
    'TRIBUTARY_SILO_KEYS_FILE: holds no silo keys, but signatures are required',
  );
  r.require(
    !required || keysFile !== null,
    'TRIBUTARY_SILO_KEYS_FILE: required when signatures are (TRIBUTARY_REQUIRE_SIGNATURES, on by default with SASL or TLS); tributary provision writes it',
  );
  return { keys, required };
}
