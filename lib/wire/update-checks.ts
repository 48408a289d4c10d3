/**
 * Checks of a decoded ModelUpdate's envelope before anything is reassembled, decoded or folded
 * (the aggregator then checks versions, shapes, finiteness, norm and weight). Every field of a
 * record can lie, so each gets a bound and a stable code:
 *   key             present, at most maxKeyBytes, equal to updateId (chunks are reassembled by key)
 *   ids             updateId, jobId, workerId non-empty; all ids at most maxIdBytes
 *   tensors         exactly as many descriptors as the model has tensors; a quantisation block
 *                   exactly where the encoding uses one (INT8_AFFINE)
 *   metrics         at most maxMetrics entries, names at most maxIdBytes
 *   timings         whole milliseconds >= 0
 * Pure: no I/O, no clock.
 */
import { UpdateRejectedError, type ErrorCode } from '../core/errors.js';
import type { ModelLayout } from '../core/fedbuff/layout.js';
import type { ModelUpdate } from './schemas.js';

export interface EnvelopeLimits {
  readonly maxKeyBytes: number;
  readonly maxIdBytes: number;
  readonly maxMetrics: number;
}

export const DEFAULT_ENVELOPE_LIMITS: EnvelopeLimits = Object.freeze({
  maxKeyBytes: 512,
  maxIdBytes: 512,
  maxMetrics: 64,
});

function fail(code: ErrorCode, message: string): never {
  throw new UpdateRejectedError(code, message);
}

/** Throws TRIB_INVALID_KEY for a key that is missing or too long (checked before the value is decoded). */
export function checkKey(key: Uint8Array | null | undefined, limits = DEFAULT_ENVELOPE_LIMITS): string {
  if (!key || key.length === 0) fail('TRIB_INVALID_KEY', 'the record has no key (it must be the updateId)');
  if (key.length > limits.maxKeyBytes)
    fail('TRIB_INVALID_KEY', `the key is ${key.length} bytes, more than ${limits.maxKeyBytes}`);
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('utf8');
}

export function checkEnvelope(
  key: string,
  update: ModelUpdate,
  layout: ModelLayout,
  limits = DEFAULT_ENVELOPE_LIMITS,
): void {
  const ids: [string, string][] = [
    ['updateId', update.updateId],
    ['taskId', update.taskId],
    ['jobId', update.jobId],
    ['workerId', update.workerId],
  ];
  for (const [name, value] of ids) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > limits.maxIdBytes)
      fail('TRIB_INVALID_UPDATE', `${name} is ${bytes} bytes, more than ${limits.maxIdBytes}`);
    if (bytes === 0 && name !== 'taskId') fail('TRIB_INVALID_UPDATE', `${name} is empty`);
  }
  if (key !== update.updateId) fail('TRIB_INVALID_KEY', 'the record key is not the updateId');
  if (update.tensors.length !== layout.tensors.length)
    fail(
      'TRIB_SHAPE_MISMATCH',
      `update has ${update.tensors.length} tensors, the model ${layout.tensors.length}`,
    );
  for (const t of update.tensors) {
    const quantized = t.encoding === 'INT8_AFFINE';
    if (quantized !== (t.quantization !== null))
      fail(
        'TRIB_PAYLOAD_CORRUPT',
        quantized
          ? `tensor ${t.name.slice(0, 64)}: INT8_AFFINE without its quantisation block`
          : `tensor ${t.name.slice(0, 64)}: a quantisation block on a ${t.encoding} tensor`,
      );
  }
  const metricNames = Object.keys(update.metrics);
  if (metricNames.length > limits.maxMetrics)
    fail('TRIB_INVALID_UPDATE', `${metricNames.length} metrics, more than ${limits.maxMetrics}`);
  if (metricNames.some((name) => Buffer.byteLength(name, 'utf8') > limits.maxIdBytes))
    fail('TRIB_INVALID_UPDATE', `a metric name is longer than ${limits.maxIdBytes} bytes`);
  for (const [name, ms] of Object.entries(update.timings))
    if (ms !== null && ms !== undefined && (!Number.isSafeInteger(ms) || ms < 0))
      fail('TRIB_INVALID_UPDATE', `timings.${name} is not a time`);
}
