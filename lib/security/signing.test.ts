import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../core/errors.js';
import { SAMPLE_MESSAGES } from '../wire/samples.js';
import type { ModelUpdate } from '../wire/schemas.js';
import {
  generateSiloKeyPair,
  loadSigningKey,
  parseSiloKeys,
  payloadDigest,
  signedMessage,
  signRecords,
  signUpdate,
  VerifiedSignatures,
  verifyUpdate,
  type VerificationPolicy,
} from './signing.js';

const pairA = generateSiloKeyPair();
const pairB = generateSiloKeyPair();
const keyA = loadSigningKey('a', pairA.privateKeyPem);
const keyB = loadSigningKey('b', pairB.privateKeyPem);
const keys = parseSiloKeys(JSON.stringify({ a: pairA.publicKeyPem, b: pairB.publicKeyPem }));
const required: VerificationPolicy = { keys, required: true };

const base: ModelUpdate = { ...SAMPLE_MESSAGES.ModelUpdate, chunk: null, signature: null };
const signed = (u: ModelUpdate = base, key = keyA): ModelUpdate => ({ ...u, signature: signUpdate(u, key) });

function codeOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return isTributaryError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

describe('signed updates', () => {
  it('an update signed by its silo verifies and names the silo', () => {
    expect(verifyUpdate(signed(), required)).toBe('a');
    expect(verifyUpdate(signed(base, keyB), required)).toBe('b');
  });

  const tamperings: [string, (u: ModelUpdate) => ModelUpdate][] = [
    ['jobId', (u) => ({ ...u, jobId: 'other' })],
    ['taskId', (u) => ({ ...u, taskId: 'task-9' })],
    ['updateId', (u) => ({ ...u, updateId: 'update-9' })],
    ['workerId', (u) => ({ ...u, workerId: 'worker-z' })],
    ['baseVersion', (u) => ({ ...u, baseVersion: u.baseVersion + 1 })],
    ['numExamples', (u) => ({ ...u, numExamples: u.numExamples * 100 })],
    ['a tensor name', (u) => ({ ...u, tensors: u.tensors.map((t) => ({ ...t, name: 'x' })) })],
    ['a tensor shape', (u) => ({ ...u, tensors: u.tensors.map((t) => ({ ...t, shape: [4, 1] })) })],
    [
      'a tensor encoding',
      (u) => ({ ...u, tensors: u.tensors.map((t) => ({ ...t, encoding: 'FLOAT16' as const })) }),
    ],
    [
      'a byte length',
      (u) => ({ ...u, tensors: u.tensors.map((t) => ({ ...t, byteLength: t.byteLength + 1 })) }),
    ],
    [
      'a quantisation scale',
      (u) => ({ ...u, tensors: u.tensors.map((t) => ({ ...t, quantization: { scale: 9, zeroPoint: 0 } })) }),
    ],
    [
      'one payload byte',
      (u) => ({ ...u, data: Buffer.from([...u.data].map((b, i) => (i === 0 ? b ^ 1 : b))) }),
    ],
    ['the claimed silo', (u) => ({ ...u, signature: { silo: 'b', value: u.signature!.value } })],
    [
      'one signature bit',
      (u) => ({
        ...u,
        signature: {
          silo: 'a',
          value: Buffer.from([...u.signature!.value].map((b, i) => (i === 5 ? b ^ 0x10 : b))),
        },
      }),
    ],
    [
      'a truncated signature',
      (u) => ({ ...u, signature: { silo: 'a', value: u.signature!.value.subarray(0, 63) } }),
    ],
    ['an empty signature', (u) => ({ ...u, signature: { silo: 'a', value: Buffer.alloc(0) } })],
  ];
  it.each(tamperings)('changing %s after signing fails verification', (_, tamper) => {
    expect(codeOf(() => verifyUpdate(tamper(signed()), required))).toBe('TRIB_SIGNATURE_INVALID');
  });

  it("a silo cannot sign in another silo's name", () => {
    // a's key, claiming b: verified under b's key, so it fails.
    const forged = {
      ...base,
      signature: { silo: 'b', value: signUpdate(base, { ...keyA, silo: 'b' }).value },
    };
    expect(codeOf(() => verifyUpdate(forged, required))).toBe('TRIB_SIGNATURE_INVALID');
  });

  it('unsigned: rejected when required, accepted (as no silo) otherwise', () => {
    expect(codeOf(() => verifyUpdate(base, required))).toBe('TRIB_UNSIGNED_UPDATE');
    const v1 = { ...base } as ModelUpdate;
    delete v1.signature;
    expect(codeOf(() => verifyUpdate(v1, required))).toBe('TRIB_UNSIGNED_UPDATE');
    expect(verifyUpdate(base, { keys, required: false })).toBeNull();
    expect(verifyUpdate(v1, { keys: new Map(), required: false })).toBeNull();
  });

  it('a silo without a known key is an unknown signer, even when signatures are optional', () => {
    const stranger = loadSigningKey('c', generateSiloKeyPair().privateKeyPem);
    expect(codeOf(() => verifyUpdate(signed(base, stranger), required))).toBe('TRIB_UNKNOWN_SIGNER');
    expect(codeOf(() => verifyUpdate(signed(base, stranger), { keys, required: false }))).toBe(
      'TRIB_UNKNOWN_SIGNER',
    );
  });

  it("chunks carry one signature over the whole payload's hash, and each verifies", () => {
    const sha = createHash('sha256')
      .update(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]))
      .digest();
    const chunks: ModelUpdate[] = [0, 1].map((index) => ({
      ...base,
      data: Buffer.from(index === 0 ? [1, 2, 3, 4] : [5, 6, 7, 8]),
      chunk: { index, count: 2, offset: index * 4, totalBytes: 8, sha256: sha },
    }));
    const records = signRecords(chunks, keyA);
    expect(records[0]!.signature!.value.equals(records[1]!.signature!.value)).toBe(true);
    for (const r of records) expect(verifyUpdate(r, required)).toBe('a');
    expect(payloadDigest(records[0]!).equals(sha)).toBe(true);
    // A chunk claiming another payload hash no longer matches the signature.
    const lying = { ...records[1]!, chunk: { ...records[1]!.chunk!, sha256: Buffer.alloc(32, 7) } };
    expect(codeOf(() => verifyUpdate(lying, required))).toBe('TRIB_SIGNATURE_INVALID');
  });

  it('the signed bytes are length-prefixed: moving a character between two ids changes them', () => {
    const one = signedMessage({ ...base, taskId: 'ab', updateId: 'c' }, 'a');
    const two = signedMessage({ ...base, taskId: 'a', updateId: 'bc' }, 'a');
    expect(one.equals(two)).toBe(false);
    expect(signedMessage(base, 'a').subarray(0, 29).toString('latin1')).toBe(
      '\u0000\u0000\u0000\u0019tributary.model-update.v2',
    );
  });

  it('reads only Ed25519 keys, with a plain message otherwise', () => {
    expect(() => parseSiloKeys('[]')).toThrow(/object/);
    expect(() => parseSiloKeys(JSON.stringify({ a: 5 }))).toThrow(/silo a: the key is not a PEM string/);
    expect(() => parseSiloKeys(JSON.stringify({ a: 'not a key' }))).toThrow();
    expect(() => loadSigningKey('a', pairA.publicKeyPem)).toThrow();
  });
});

describe('verified signatures', () => {
  it('a repeated chunk is not verified again, but a chunk with any other signed byte is', () => {
    const sha = createHash('sha256')
      .update(Buffer.from([1, 2]))
      .digest();
    const chunk = (index: number, numExamples = 5): ModelUpdate => ({
      ...base,
      numExamples,
      data: Buffer.from([index + 1]),
      chunk: { index, count: 2, offset: index, totalBytes: 2, sha256: sha },
    });
    const [first, second] = signRecords([chunk(0), chunk(1)], keyA);
    const cache = new VerifiedSignatures(2);
    expect(verifyUpdate(first!, required, cache)).toBe('a');
    expect(verifyUpdate(second!, required, cache)).toBe('a');
    // Same signature, other signed bytes (the example count): verified afresh, and refused.
    const lying = { ...chunk(1, 5000), signature: second!.signature };
    expect(codeOf(() => verifyUpdate(lying, required, cache))).toBe('TRIB_SIGNATURE_INVALID');
    // Bounded: old entries leave.
    for (let i = 0; i < 3; i++) verifyUpdate(signed({ ...base, taskId: `t${i}` }), required, cache);
    expect(cache.has(first!.signature!, signedMessage(first!, 'a'))).toBe(false);
  });
});
