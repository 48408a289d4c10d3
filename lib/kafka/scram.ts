/**
 * SCRAM credentials on a Kafka cluster (KIP-554, AlterUserScramCredentials, API key 51 v0).
 *
 * kafkajs 2.2 has no call for it, so this module encodes the request itself (pure functions below,
 * unit-tested) and sends it on an authenticated connection of kafkajs's own cluster client. The
 * password never leaves this process: the request carries PBKDF2's salted password, as Kafka's own
 * `kafka-configs --add-config SCRAM-SHA-512=[password=…]` does.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TributaryError } from '../core/errors.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

const MECHANISM_CODES: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
/** Kafka accepts 4096–16384 iterations; 8192 doubles the cost of a stolen salted hash over the minimum. */
export const SCRAM_ITERATIONS = 8192;
const API_KEY = 51;

export interface ScramUpsertion {
  readonly user: string;
  readonly mechanism: ScramMechanism;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly saltedPassword: Buffer;
}

export interface ScramDeletion {
  readonly user: string;
  readonly mechanism: ScramMechanism;
}

export interface ScramResult {
  readonly user: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** RFC 5802's Hi(): PBKDF2 with HMAC of the mechanism's hash, one hash-length block. */
export function saltedPassword(
  password: string,
  salt: Buffer,
  iterations: number,
  mechanism: ScramMechanism,
): Buffer {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  return pbkdf2Sync(
    Buffer.from(password.normalize('NFKC'), 'utf8'),
    salt,
    iterations,
    hash === 'sha256' ? 32 : 64,
    hash,
  );
}

export function scramUpsertion(
  user: string,
  password: string,
  mechanism: ScramMechanism = 'SCRAM-SHA-512',
  iterations = SCRAM_ITERATIONS,
): ScramUpsertion {
  const salt = randomBytes(32);
  return {
    user,
    mechanism,
    iterations,
    salt,
    saltedPassword: saltedPassword(password, salt, iterations, mechanism),
  };
}

// --- the wire format (flexible version: compact lengths as unsigned varints, tagged fields) ---

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value >>> 0;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function compactBytes(value: Buffer): Buffer {
  return Buffer.concat([uvarint(value.length + 1), value]);
}

function compactString(value: string): Buffer {
  return compactBytes(Buffer.from(value, 'utf8'));
}

function int8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

const NO_TAGS = uvarint(0);

/**
 * The request body, preceded by the empty tagged-field section that a flexible request header
 * (v2) adds after the client id: kafkajs writes header v1, so the body carries the difference.
 */
export function encodeAlterScramRequest(
  upsertions: readonly ScramUpsertion[],
  deletions: readonly ScramDeletion[],
): Buffer {
  return Buffer.concat([
    NO_TAGS,
    uvarint(deletions.length + 1),
    ...deletions.flatMap((d) => [compactString(d.user), int8(MECHANISM_CODES[d.mechanism]), NO_TAGS]),
    uvarint(upsertions.length + 1),
    ...upsertions.flatMap((u) => [
      compactString(u.user),
      int8(MECHANISM_CODES[u.mechanism]),
      int32(u.iterations),
      compactBytes(u.salt),
      compactBytes(u.saltedPassword),
      NO_TAGS,
    ]),
    NO_TAGS,
  ]);
}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw new Error('varint longer than 5 bytes');
  }
  byte(): number {
    if (this.offset >= this.buffer.length) throw new Error('response ends early');
    return this.buffer[this.offset++] as number;
  }
  int16(): number {
    this.need(2);
    const v = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  nullableString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    this.need(length);
    const s = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return s;
  }
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.need(size);
      this.offset += size;
    }
  }
  private need(n: number): void {
    if (this.offset + n > this.buffer.length) throw new Error('response ends early');
  }
}

/** The response body after the correlation id: header tags, throttle time, one result per user. */
export function decodeAlterScramResponse(body: Buffer): ScramResult[] {
  const r = new Reader(body);
  r.skipTags();
  r.int32();
  const count = r.uvarint() - 1;
  const results: ScramResult[] = [];
  for (let i = 0; i < count; i++) {
    const user = r.nullableString() ?? '';
    const errorCode = r.int16();
    const errorMessage = r.nullableString();
    r.skipTags();
    results.push({ user, errorCode, errorMessage });
  }
  return results;
}

// --- transport ---

interface KafkajsBroker {
  connectionPool: { send(request: unknown): Promise<unknown> };
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findControllerBroker(): Promise<KafkajsBroker>;
}

/** kafkajs's cluster factory sits behind a private symbol; found by its description, checked. */
function createCluster(kafka: Kafka): KafkajsCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const factory = symbol && (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new Error(
      'this kafkajs version does not expose its cluster factory; SCRAM provisioning needs kafkajs 2.2',
    );
  }
  return (factory as (options: object) => KafkajsCluster)({});
}

export class ScramError extends TributaryError {
  constructor(
    message: string,
    readonly results: readonly ScramResult[],
  ) {
    super('TRIB_AUTHORIZATION_FAILED', message);
    this.name = 'ScramError';
  }
}

/** Creates or replaces (upsertions) and removes (deletions) SCRAM credentials; all or an error. */
export async function alterScramCredentials(
  kafka: Kafka,
  change: { upsert?: readonly ScramUpsertion[]; remove?: readonly ScramDeletion[] },
): Promise<ScramResult[]> {
  const body = encodeAlterScramRequest(change.upsert ?? [], change.remove ?? []);
  const cluster = createCluster(kafka);
  await cluster.connect();
  try {
    await cluster.refreshMetadata();
    const broker = await cluster.findControllerBroker();
    const results = (await broker.connectionPool.send({
      request: {
        apiKey: API_KEY,
        apiVersion: 0,
        apiName: 'AlterUserScramCredentials',
        encode: async () => ({ buf: body, buffer: body }),
      },
      response: {
        decode: async (payload: Buffer) => decodeAlterScramResponse(payload),
        parse: async (data: ScramResult[]) => data,
      },
    })) as ScramResult[];
    // 91 RESOURCE_NOT_FOUND: deleting a credential that is not there, which is what was wanted.
    const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== 91);
    if (failed.length > 0) {
      throw new ScramError(
        `altering SCRAM credentials failed: ${failed.map((f) => `${f.user}: ${f.errorMessage ?? `error ${f.errorCode}`}`).join('; ')}`,
        failed,
      );
    }
    return results;
  } finally {
    await cluster.disconnect();
  }
}
