import { describe, expect, it } from 'vitest';
import {
  decodeAlterScramResponse,
  encodeAlterScramRequest,
  saltedPassword,
  scramUpsertion,
} from './scram.js';

describe('SCRAM salted passwords', () => {
  it('are PBKDF2-HMAC of the mechanism hash, one hash length (RFC 6070 style vector for SHA-256)', () => {
    expect(saltedPassword('password', Buffer.from('salt'), 4096, 'SCRAM-SHA-256').toString('hex')).toBe(
      'c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a',
    );
    expect(saltedPassword('password', Buffer.from('salt'), 4096, 'SCRAM-SHA-512')).toHaveLength(64);
  });
  it('a fresh salt per upsertion, so equal passwords give different credentials', () => {
    const one = scramUpsertion('u', 'same');
    const two = scramUpsertion('u', 'same');
    expect(one.salt.equals(two.salt)).toBe(false);
    expect(one.saltedPassword.equals(two.saltedPassword)).toBe(false);
    expect(one.iterations).toBeGreaterThanOrEqual(4096);
  });
});

describe('AlterUserScramCredentials v0 wire format', () => {
  it('encodes header tags, deletions then upsertions, compact lengths + 1', () => {
    const bytes = encodeAlterScramRequest(
      [
        {
          user: 'ab',
          mechanism: 'SCRAM-SHA-512',
          iterations: 4096,
          salt: Buffer.from([9]),
          saltedPassword: Buffer.from([7, 8]),
        },
      ],
      [{ user: 'c', mechanism: 'SCRAM-SHA-256' }],
    );
    expect([...bytes]).toEqual([
      0, // request header tagged fields
      2,
      2,
      0x63,
      1,
      0, // deletions: 1 × (name "c", mechanism 1, no tags)
      2,
      3,
      0x61,
      0x62,
      2,
      0,
      0,
      0x10,
      0,
      2,
      9,
      3,
      7,
      8,
      0, // upsertions: "ab", 2, 4096, salt, salted
      0, // body tags
    ]);
  });
  it('decodes results (and skips tagged fields), refusing a truncated response', () => {
    const body = Buffer.from([
      0, // response header tags
      0,
      0,
      0,
      5, // throttle
      3, // 2 results
      2,
      0x61,
      0,
      0,
      0,
      0, // "a", no error, null message, tags
      2,
      0x62,
      0,
      0x44,
      4,
      0x62,
      0x61,
      0x64,
      1,
      1,
      1,
      0x7a, // "b", error 68, "bad", one tag (1: "z")
      0,
    ]);
    expect(decodeAlterScramResponse(body)).toEqual([
      { user: 'a', errorCode: 0, errorMessage: null },
      { user: 'b', errorCode: 68, errorMessage: 'bad' },
    ]);
    expect(() => decodeAlterScramResponse(body.subarray(0, 12))).toThrow(/ends early/);
  });
});
