/**
 * Avro messages in Confluent wire format against a real schema registry. Schemas are registered
 * under the topic-name strategy (`<topic>-value`); encoding uses our own schema (no lookup per
 * message); decoding resolves whatever schema version the writer used to ours, so old and new
 * workers interoperate under BACKWARD_TRANSITIVE compatibility.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { TributaryError, WireError } from '../core/errors.js';
import { checkAvroBounds, DEFAULT_AVRO_BOUNDS, type AvroBounds } from './avro-bounds.js';
import { frame, unframe } from './confluent.js';
import { registryHeaders, type RegistryAuth } from '../security/client.js';
import { BoundedCache, SchemaLookup } from './schema-lookup.js';
import { messageType, schemaText, type MessageName, type MessageTypes } from './schemas.js';

export const valueSubject = (topic: string) => `${topic}-value`;

export interface Decoder {
  readonly writer: avro.Type;
  readonly reader: avro.Type;
  readonly resolver: avro.Resolver;
}

export class AvroSerde {
  private readonly decoders = new BoundedCache<string, Decoder>(256);
  private readonly lookup: SchemaLookup;

  private readonly headers: Record<string, string>;

  constructor(
    readonly registry: SchemaRegistry,
    private readonly registryUrl: string,
    private readonly bounds: AvroBounds = DEFAULT_AVRO_BOUNDS,
    auth: RegistryAuth | null = null,
  ) {
    this.headers = registryHeaders(auth);
    this.lookup = new SchemaLookup(registryUrl, this.headers);
  }

  /** A serde on the registry at `registryUrl`; `auth` adds basic or bearer authentication. */
  static forUrl(registryUrl: string, auth: RegistryAuth | null = null): AvroSerde {
    const headers = registryHeaders(auth);
    return new AvroSerde(
      new SchemaRegistry({
        host: registryUrl,
        retry: { retries: 5 },
        ...(auth?.kind === 'basic' ? { auth: { username: auth.username, password: auth.password } } : {}),
        ...(auth?.kind === 'bearer' ? { middlewares: [bearerMiddleware(headers)] } : {}),
      }),
      registryUrl.replace(/\/+$/, ''),
      DEFAULT_AVRO_BOUNDS,
      auth,
    );
  }

  /**
   * Registers `name`'s schema for `topic` and returns its id. Posted straight to the registry's
   * REST API so the registry's own compatibility setting governs (BACKWARD_TRANSITIVE on the stack we
   * start; whatever an existing cluster's operators chose on theirs).
   */
  async register(name: MessageName, topic: string): Promise<number> {
    return this.registerSchema(valueSubject(topic), schemaText(name), name);
  }

  /** Registers raw Avro schema text under `subject` (also used to register evolved versions). */
  async registerSchema(subject: string, schema: string, name = subject): Promise<number> {
    // Several processes registering the same new subject at once can see a transient 409 (a
    // concurrent create); a real incompatibility answers 409 every time.
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json', ...this.headers },
          body: JSON.stringify({ schema }),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (cause) {
        if (attempt < 4) continue;
        throw new TributaryError(
          'TRIB_REGISTRY_UNAVAILABLE',
          `could not reach the registry to register ${name}: ${String(cause)}`,
          { cause },
        );
      }
      const body = await response.text();
      if (response.ok) return (JSON.parse(body) as { id: number }).id;
      if (response.status === 409 && attempt < 4) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
        continue;
      }
      if (response.status === 409) {
        throw new TributaryError(
          'TRIB_SCHEMA_INCOMPATIBLE',
          `schema ${name} is incompatible with ${subject}: ${body}`,
        );
      }
      throw new TributaryError(
        'TRIB_REGISTRY_UNAVAILABLE',
        `registering ${name} for ${subject} failed: HTTP ${response.status} ${body}`,
      );
    }
  }

  encode<N extends MessageName>(name: N, schemaId: number, message: MessageTypes[N]): Buffer {
    return frame(schemaId, messageType(name).toBuffer(message));
  }

  /**
   * Decodes one framed record as `name`. Bytes are bounds-checked against the writer's schema before
   * avsc allocates anything (./avro-bounds.ts), so decode time and memory are bounded by the record's
   * size whatever it claims. A schema id of the wrong kind or message is a WireError at once; only a
   * registry that does not answer is TRIB_REGISTRY_UNAVAILABLE (retriable).
   */
  async decode<N extends MessageName>(
    name: N,
    bytes: Uint8Array | null | undefined,
  ): Promise<MessageTypes[N]> {
    if (!bytes) throw new WireError('TRIB_DECODE_FAILED', `empty record where a ${name} was expected`);
    const { schemaId, payload } = unframe(bytes);
    return decodePayload(name, await this.decoderFor(name, schemaId), schemaId, payload, this.bounds);
  }

  /**
   * Fetches the latest writer schema of `topic`'s values ahead of its first record (best effort;
   * ./schema-lookup.ts): its id, or null.
   */
  prefetchLatest(topic: string): Promise<number | null> {
    return this.lookup.prefetchLatest(valueSubject(topic));
  }

  /** Whether the registry answers for a schema id known to exist (telling an outage from a bad id). */
  registryAnswers(knownSchemaId: number): Promise<boolean> {
    return this.lookup.answers(knownSchemaId);
  }

  private async decoderFor(name: MessageName, schemaId: number): Promise<Decoder> {
    const key = `${name}:${schemaId}`;
    const cached = this.decoders.get(key);
    if (cached) return cached;
    const writer = await this.lookup.get(schemaId);
    const decoder = decoderOf(name, schemaId, writer);
    this.decoders.set(key, decoder);
    return decoder;
  }

  /**
   * A record in any schema a producer registered (a silo's own data): its writer schema from the
   * registry, the bytes bounds-checked against it, then decoded as the writer wrote it.
   */
  async decodeAny(bytes: Buffer | null): Promise<unknown> {
    if (!bytes) throw new WireError('TRIB_DECODE_FAILED', 'record without a value');
    const { schemaId, payload } = unframe(bytes);
    const writer = await this.lookup.get(schemaId);
    try {
      checkAvroBounds(writer, payload, this.bounds);
      return writer.fromBuffer(payload);
    } catch (cause) {
      if (cause instanceof WireError) throw cause;
      throw new WireError('TRIB_DECODE_FAILED', `bytes are not a valid record of schema ${schemaId}`, {
        cause,
      });
    }
  }
}

/** How to read `name` from bytes written with `writer` (schema id `schemaId`). */
export function decoderOf(name: MessageName, schemaId: number, writer: avro.Type): Decoder {
  const reader = messageType(name);
  try {
    return { writer, reader, resolver: reader.createResolver(writer) };
  } catch (cause) {
    throw new WireError('TRIB_SCHEMA_MISMATCH', `schema ${schemaId} cannot be read as ${name}`, {
      cause,
      details: { schemaId },
    });
  }
}

/** The Avro payload of one record (frame removed), bounds-checked, then decoded. Pure. */
export function decodePayload<N extends MessageName>(
  name: N,
  decoder: Decoder,
  schemaId: number,
  payload: Uint8Array,
  bounds: AvroBounds = DEFAULT_AVRO_BOUNDS,
): MessageTypes[N] {
  try {
    checkAvroBounds(decoder.writer, payload, bounds);
    return decoder.reader.fromBuffer(
      Buffer.from(payload.buffer, payload.byteOffset, payload.length),
      decoder.resolver,
    ) as MessageTypes[N];
  } catch (cause) {
    if (cause instanceof WireError) throw cause;
    throw new WireError(
      'TRIB_DECODE_FAILED',
      `bytes are not a valid ${name} under schema ${schemaId}: ${String(cause)}`,
      {
        cause,
        details: { schemaId },
      },
    );
  }
}

/** The registry client's hook for a bearer token (its own `auth` option is basic only). */
type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
function bearerMiddleware(headers: Record<string, string>): Middleware {
  return () => ({ request: (request) => request.enhance({ headers }) });
}
