/**
 * Size limits that must agree end to end: the broker (infra/kafka/server.properties
 * `message.max.bytes`), each topic's `max.message.bytes`, and the clients' fetch sizes. A model update
 * larger than MAX_RECORD_BYTES is split into chunks by the tensor codec.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Chunk payloads stay well under the record limit to leave room for the envelope and batch overhead. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
