/**
 * Confluent Schema Registry wire format: magic byte 0, the schema id as a 4-byte big-endian
 * integer, then the Avro binary encoding. Pure framing; the registry lookups live in ./serde.ts.
 */
import { WireError } from '../core/errors.js';

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

export function frame(schemaId: number, avroBytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + avroBytes.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  out.set(avroBytes, HEADER_BYTES);
  return out;
}

export function unframe(bytes: Uint8Array): { schemaId: number; payload: Buffer } {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buffer.length < HEADER_BYTES) {
    throw new WireError(
      'TRIB_DECODE_FAILED',
      `record of ${buffer.length} bytes is too short for the Confluent wire format`,
    );
  }
  if (buffer[0] !== MAGIC_BYTE) {
    throw new WireError(
      'TRIB_DECODE_FAILED',
      `record starts with byte ${buffer[0]}, not the Confluent magic byte 0`,
    );
  }
  return { schemaId: buffer.readInt32BE(1), payload: buffer.subarray(HEADER_BYTES) };
}
