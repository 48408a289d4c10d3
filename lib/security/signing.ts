/**
 * Signed model updates (ModelUpdate v2): a silo's Ed25519 key signs each update's identity and
 * content, and the coordinator verifies it against the silo's public key before it looks at
 * anything else in the record.
 *
 * What is signed (docs/protocol.md has it byte by byte): a domain tag, then job, task, update and
 * worker ids, the silo, base version, example count, every tensor descriptor (name, shape,
 * encoding, byte length, quantisation) and the SHA-256 of the whole tensor payload — the payload's
 * own hash for a single record, the chunk header's whole-payload hash for a chunk (reassembly then
 * checks the bytes against it). Every chunk of an update carries the same signature.
 *
 * Binary and length-prefixed, not JSON: a Python or Java signer must produce the same bytes, and
 * number formatting differs between languages.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { UpdateRejectedError } from '../core/errors.js';
import type { ModelUpdate, UpdateSignature } from '../wire/schemas.js';

const DOMAIN = 'tributary.model-update.v2';
export const SIGNATURE_BYTES = 64;

class MessageWriter {
  private readonly parts: Buffer[] = [];
  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    return this.uint32(bytes.length).raw(bytes);
  }
  uint32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    return this.raw(b);
  }
  int64(value: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(Math.trunc(value)));
    return this.raw(b);
  }
  float64(value: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return this.raw(b);
  }
  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The whole payload's SHA-256: the chunk header's claim for a chunk, else the record's own bytes. */
export function payloadDigest(update: Pick<ModelUpdate, 'data' | 'chunk'>): Buffer {
  if (update.chunk) return Buffer.from(update.chunk.sha256);
  return createHash('sha256').update(update.data).digest();
}

/** The bytes a silo signs for `update` (its signature field is ignored). */
export function signedMessage(update: ModelUpdate, silo: string, digest = payloadDigest(update)): Buffer {
  const w = new MessageWriter()
    .string(DOMAIN)
    .string(update.jobId)
    .string(update.taskId)
    .string(update.updateId)
    .string(update.workerId)
    .string(silo)
    .int64(update.baseVersion)
    .int64(update.numExamples)
    .uint32(update.tensors.length);
  for (const t of update.tensors) {
    w.string(t.name).uint32(t.shape.length);
    for (const d of t.shape) w.uint32(d);
    w.string(t.encoding).uint32(t.byteLength);
    if (t.quantization) w.raw(Uint8Array.of(1)).float64(t.quantization.scale).int64(t.quantization.zeroPoint);
    else w.raw(Uint8Array.of(0));
  }
  return w.string('sha256').raw(digest).done();
}

export interface SigningKey {
  readonly silo: string;
  readonly privateKey: KeyObject;
}

/** Signs one update as `silo`; chunks of one update get the same signature. */
export function signUpdate(update: ModelUpdate, key: SigningKey): UpdateSignature {
  return { silo: key.silo, value: sign(null, signedMessage(update, key.silo), key.privateKey) };
}

/** Signs every record of one update (one signature, computed once, on each chunk). */
export function signRecords(records: ModelUpdate[], key: SigningKey): ModelUpdate[] {
  const first = records[0];
  if (!first) return records;
  const signature = signUpdate(first, key);
  return records.map((r) => ({ ...r, signature }));
}

/** Silo name → public key, as the coordinator knows them (TRIBUTARY_SILO_KEYS). */
export type SiloKeys = ReadonlyMap<string, KeyObject>;

export interface VerificationPolicy {
  readonly keys: SiloKeys;
  /** Unsigned updates are rejected (TRIB_UNSIGNED_UPDATE) rather than accepted as v1. */
  readonly required: boolean;
}

/**
 * The silo that signed `update`, or null for an unsigned update the policy accepts; throws
 * UpdateRejectedError (TRIB_UNSIGNED_UPDATE, TRIB_UNKNOWN_SIGNER, TRIB_SIGNATURE_INVALID)
 * otherwise. Pure apart from the hash; the attribution to a lease is the caller's next check.
 */
export function verifyUpdate(
  update: ModelUpdate,
  policy: VerificationPolicy,
  verified?: VerifiedSignatures,
): string | null {
  const signature = update.signature ?? null;
  if (signature === null) {
    if (policy.required)
      throw new UpdateRejectedError(
        'TRIB_UNSIGNED_UPDATE',
        'the update is not signed and this job requires signatures',
      );
    return null;
  }
  const key = policy.keys.get(signature.silo);
  if (!key)
    throw new UpdateRejectedError(
      'TRIB_UNKNOWN_SIGNER',
      `the update is signed for silo "${signature.silo.slice(0, 64)}", whose public key this coordinator does not have`,
    );
  const message = signedMessage(update, signature.silo);
  const ok =
    signature.value.length === SIGNATURE_BYTES &&
    (verified?.has(signature, message) || verify(null, message, key, signature.value));
  if (!ok)
    throw new UpdateRejectedError(
      'TRIB_SIGNATURE_INVALID',
      `the signature does not verify under silo "${signature.silo.slice(0, 64)}"'s key`,
    );
  verified?.add(signature, message);
  return signature.silo;
}

/**
 * Signatures already verified, with the exact bytes they signed: the chunks of one update repeat
 * both, so the coordinator pays for one Ed25519 verification per update, not per chunk. A record
 * whose signed bytes differ in anything is verified afresh. Bounded: the oldest entries go first.
 */
export class VerifiedSignatures {
  private readonly entries = new Map<string, Buffer>();
  constructor(private readonly capacity = 1024) {}

  has(signature: UpdateSignature, message: Buffer): boolean {
    return this.entries.get(this.key(signature))?.equals(message) ?? false;
  }

  add(signature: UpdateSignature, message: Buffer): void {
    const key = this.key(signature);
    this.entries.delete(key);
    this.entries.set(key, message);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  private key(signature: UpdateSignature): string {
    return `${signature.silo}\u0000${signature.value.toString('base64')}`;
  }
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSiloKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Reads a PEM Ed25519 private key; throws with a plain message if it is not one. */
export function loadSigningKey(silo: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(`the signing key is ${privateKey.asymmetricKeyType}, not ed25519`);
  return { silo, privateKey };
}

/** Reads `{ "<silo>": "<PEM public key>", … }`; throws with a plain message on a bad entry. */
export function parseSiloKeys(json: string): SiloKeys {
  const raw = JSON.parse(json) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('expected an object of silo → PEM public key');
  const keys = new Map<string, KeyObject>();
  for (const [silo, pem] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof pem !== 'string') throw new Error(`silo ${silo}: the key is not a PEM string`);
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519')
      throw new Error(`silo ${silo}: the key is ${key.asymmetricKeyType}, not ed25519`);
    keys.set(silo, key);
  }
  return keys;
}
