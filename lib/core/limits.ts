/**
 * Size limits that must agree end to end: the broker (infra/kafka/server.properties
 * `message.max.bytes`), each topic's `max.message.bytes`, and the clients' fetch sizes. A model update
 * larger than MAX_RECORD_BYTES is split into chunks by the tensor codec.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Chunk payloads stay well under the record limit to leave room for the envelope and batch overhead. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Transactions Tributary's producers open (coordinator steps, chunked updates) may stay open this
 * long. The stack's broker caps every producer at the same value (`transaction.max.timeout.ms` in
 * infra/kafka/server.properties), which bounds how long a producer that opens a transaction on
 * `updates` and never ends it can hold back read_committed readers of that partition.
 */
export const TRANSACTION_TIMEOUT_MS = 30_000;
