/**
 * Tributary's error hierarchy: every failure a user or an operator can see carries a stable `code`
 * from the list below, a `retriable` flag that retry logic reads, and the underlying `cause`.
 *
 * Codes once published are never reused or renamed; add new ones at the end of their group.
 */

export const ERROR_CODES = {
  // Stack (infra): the local or containerised Kafka + schema registry.
  TRIB_JAVA_MISSING: { retriable: false, summary: 'no Java runtime was found' },
  TRIB_JAVA_TOO_OLD: { retriable: false, summary: 'the Java runtime is older than required' },
  TRIB_PORT_IN_USE: { retriable: false, summary: 'a requested port is already taken' },
  TRIB_ARTIFACTS_UNAVAILABLE: {
    retriable: false,
    summary: 'stack artifacts are not cached and could not be downloaded',
  },
  TRIB_BROKER_UNHEALTHY: { retriable: true, summary: 'the Kafka broker did not become ready' },
  TRIB_REGISTRY_UNHEALTHY: { retriable: true, summary: 'the schema registry did not become ready' },
  TRIB_PROCESS_EXITED: { retriable: false, summary: 'a stack process exited during start-up' },
  TRIB_DOCKER_UNAVAILABLE: { retriable: false, summary: 'no Docker engine answered' },
  TRIB_CONFIG_INVALID: { retriable: false, summary: 'a configuration field is invalid' },

  // Wire: schemas, tensor codec, chunking.
  TRIB_DECODE_FAILED: { retriable: false, summary: 'bytes could not be decoded as the expected message' },
  TRIB_UNKNOWN_SCHEMA: { retriable: false, summary: 'the schema id is unknown to the registry' },
  TRIB_REGISTRY_UNAVAILABLE: { retriable: true, summary: 'the schema registry did not answer' },
  TRIB_SCHEMA_INCOMPATIBLE: { retriable: false, summary: 'the registry refused a schema as incompatible' },
  TRIB_UNSUPPORTED_ENCODING: { retriable: false, summary: 'the tensor encoding or dtype is not supported' },
  TRIB_PAYLOAD_CORRUPT: { retriable: false, summary: 'the payload bytes do not match their description' },
  TRIB_CHUNK_MISSING: { retriable: false, summary: 'a chunk of a split payload never arrived' },
  TRIB_CHUNK_DUPLICATE: { retriable: false, summary: 'a chunk of a split payload arrived twice' },
  TRIB_CHUNK_CORRUPT: { retriable: false, summary: 'a reassembled payload failed its content hash' },
  TRIB_SCHEMA_MISMATCH: {
    retriable: false,
    summary:
      'the schema id names a schema of another kind, or one that cannot be read as the expected message',
  },
  TRIB_CHUNK_EXPIRED: {
    retriable: false,
    summary: 'a chunked payload did not complete within its record span or age',
  },
  TRIB_REASSEMBLY_BUDGET: {
    retriable: false,
    summary: 'no room for another incomplete chunked payload (total, per worker, or bytes)',
  },
  TRIB_INVALID_KEY: { retriable: false, summary: 'the record key is missing or longer than allowed' },
  TRIB_RECORD_TIMEOUT: {
    retriable: false,
    summary: 'handling one record took longer than its watchdog allows',
  },

  // Aggregation: update validation before anything is folded.
  TRIB_NON_FINITE: { retriable: false, summary: 'the update holds NaN or infinite values' },
  TRIB_SHAPE_MISMATCH: { retriable: false, summary: 'tensor names, shapes or dtypes differ from the model' },
  TRIB_FUTURE_VERSION: { retriable: false, summary: 'the update claims a base version not yet published' },
  TRIB_STALE_UPDATE: { retriable: false, summary: 'the update is staler than the maximum staleness' },
  TRIB_DUPLICATE_UPDATE: { retriable: false, summary: 'an update with this id was already folded' },
  TRIB_NORM_EXCEEDED: { retriable: false, summary: 'the update norm exceeds the hard limit' },
  TRIB_WRONG_JOB: { retriable: false, summary: 'the update belongs to another job' },
  TRIB_STATE_CORRUPT: { retriable: false, summary: 'a serialised aggregator state could not be restored' },
  TRIB_INVALID_UPDATE: { retriable: false, summary: 'the update metadata is malformed (ids, example count)' },
  TRIB_EXAMPLES_EXCEEDED: {
    retriable: false,
    summary: 'the example count is above the hard limit, or far above what recent honest updates claim',
  },

  // Tasks: a user's model and data, loaded by both services.
  TRIB_TASK_LOAD_FAILED: {
    retriable: false,
    summary: 'the task file could not be found, loaded or understood',
  },
  TRIB_LAYOUT_MISMATCH: {
    retriable: false,
    summary: "the model's weight layout differs from the job's (names, shapes, dtypes or order)",
  },
  TRIB_CENTRAL_EVALUATION_FAILED: {
    retriable: true,
    summary: "the coordinator's central evaluation thread failed to start, or exited",
  },

  // Federated evaluation: reports of workers' evaluations on their own holdout data.
  TRIB_EVALUATION_INVALID: {
    retriable: false,
    summary: 'an evaluation report is malformed (example count, loss, metrics, confusion matrix)',
  },
  TRIB_EVALUATION_UNEXPECTED: {
    retriable: false,
    summary: 'an evaluation report answers no open request, or one sent to another worker or silo',
  },

  // Security: who may connect, and whose updates are whose.
  TRIB_AUTHENTICATION_FAILED: {
    retriable: false,
    summary: 'the cluster refused the credentials, or TLS could not be established',
  },
  TRIB_SEND_INCOMPLETE: {
    retriable: true,
    summary:
      'the client acknowledged a send without writing all of it (a partition leader moved or died mid-send)',
  },
  TRIB_SEND_DUPLICATED: {
    retriable: true,
    summary:
      "the client's answer shows a step's records written twice (a partition named twice, or the model past where it had to land)",
  },
  TRIB_AUTHORIZATION_FAILED: {
    retriable: false,
    summary: "the principal's ACLs do not allow the operation (or provisioning them failed)",
  },
  TRIB_UNSIGNED_UPDATE: {
    retriable: false,
    summary: 'the update carries no signature and signatures are required',
  },
  TRIB_UNKNOWN_SIGNER: {
    retriable: false,
    summary: 'the update is signed for a silo whose public key is not known',
  },
  TRIB_SIGNATURE_INVALID: {
    retriable: false,
    summary: "the update's signature does not verify against its silo's public key and its content",
  },
  TRIB_UPDATE_MISATTRIBUTED: {
    retriable: false,
    summary: 'a validly signed update claims a worker or task leased to another silo',
  },

  // Kafka clients.
  TRIB_KAFKA_CALL_TIMEOUT: {
    retriable: true,
    summary: 'a Kafka client call neither succeeded nor failed within its deadline',
  },
  TRIB_METADATA_UNSETTLED: {
    retriable: true,
    summary: "the cluster's metadata did not list its topics, or a topic's partitions, in time",
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes a rejected ModelUpdate can carry (the `rejected` topic; docs/protocol.md lists them). */
export const UPDATE_REJECTION_CODES = [
  'TRIB_INVALID_KEY',
  'TRIB_DECODE_FAILED',
  'TRIB_UNKNOWN_SCHEMA',
  'TRIB_SCHEMA_MISMATCH',
  'TRIB_RECORD_TIMEOUT',
  'TRIB_UNSIGNED_UPDATE',
  'TRIB_UNKNOWN_SIGNER',
  'TRIB_SIGNATURE_INVALID',
  'TRIB_UPDATE_MISATTRIBUTED',
  'TRIB_INVALID_UPDATE',
  'TRIB_SHAPE_MISMATCH',
  'TRIB_UNSUPPORTED_ENCODING',
  'TRIB_PAYLOAD_CORRUPT',
  'TRIB_CHUNK_MISSING',
  'TRIB_CHUNK_DUPLICATE',
  'TRIB_CHUNK_CORRUPT',
  'TRIB_CHUNK_EXPIRED',
  'TRIB_REASSEMBLY_BUDGET',
  'TRIB_WRONG_JOB',
  'TRIB_FUTURE_VERSION',
  'TRIB_STALE_UPDATE',
  'TRIB_DUPLICATE_UPDATE',
  'TRIB_NON_FINITE',
  'TRIB_NORM_EXCEEDED',
  'TRIB_EXAMPLES_EXCEEDED',
] as const satisfies readonly ErrorCode[];

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** Free-form structured context for logs (ports, paths, ids); never needed to handle the error. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
    this.details = Object.freeze({ ...options.details });
  }
}

export function isTributaryError(error: unknown, code?: ErrorCode): error is TributaryError {
  return error instanceof TributaryError && (code === undefined || error.code === code);
}

/** The stack (broker, registry, containers) could not be brought up; `logTail` holds the process log's end. */
export class StackError extends TributaryError {
  readonly logTail: string;
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; logTail?: string } = {},
  ) {
    const tail = options.logTail?.trim() ?? '';
    super(code, tail === '' ? message : `${message}\n--- log tail ---\n${tail}`, options);
    this.name = 'StackError';
    this.logTail = tail;
  }
}

/** Bytes on the wire did not decode into a well-formed message or tensor. */
export class WireError extends TributaryError {
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.name = 'WireError';
  }
}

/** An update failed validation and was not folded; the aggregator state is untouched. */
export class UpdateRejectedError extends TributaryError {
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.name = 'UpdateRejectedError';
  }
}

/** A configuration object failed validation; `problems` lists one line per bad field. */
export class ConfigError extends TributaryError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('TRIB_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
