/**
 * Avro messages in Confluent wire format against a real schema registry. Schemas are registered
 * under the topic-name strategy (`<topic>-value`); encoding uses our own schema (no lookup per
 * message); decoding resolves whatever schema version the writer used to ours, so old and new
 * workers interoperate under BACKWARD_TRANSITIVE compatibility.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { TributaryError, WireError } from '../core/errors.js';
import { frame, unframe } from './confluent.js';
import { messageType, schemaText, type MessageName, type MessageTypes } from './schemas.js';

export const valueSubject = (topic: string) => `${topic}-value`;

interface Decoder {
  readonly reader: avro.Type;
  readonly resolver: avro.Resolver;
}

export class AvroSerde {
  private readonly decoders = new Map<string, Decoder>();

  constructor(
    readonly registry: SchemaRegistry,
    private readonly registryUrl: string,
  ) {}

  static forUrl(registryUrl: string): AvroSerde {
    return new AvroSerde(
      new SchemaRegistry({ host: registryUrl, retry: { retries: 5 } }),
      registryUrl.replace(/\/+$/, ''),
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
          headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
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

  async decode<N extends MessageName>(
    name: N,
    bytes: Uint8Array | null | undefined,
  ): Promise<MessageTypes[N]> {
    if (!bytes) throw new WireError('TRIB_DECODE_FAILED', `empty record where a ${name} was expected`);
    const { schemaId, payload } = unframe(bytes);
    const decoder = await this.decoderFor(name, schemaId);
    try {
      return decoder.reader.fromBuffer(payload, decoder.resolver) as MessageTypes[N];
    } catch (cause) {
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

  private async decoderFor(name: MessageName, schemaId: number): Promise<Decoder> {
    const key = `${name}:${schemaId}`;
    const cached = this.decoders.get(key);
    if (cached) return cached;
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(schemaId)) as unknown as avro.Type;
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      if (status === 404)
        throw new WireError('TRIB_UNKNOWN_SCHEMA', `schema id ${schemaId} is unknown to the registry`, {
          cause,
          details: { schemaId },
        });
      throw new TributaryError(
        'TRIB_REGISTRY_UNAVAILABLE',
        `could not fetch schema ${schemaId}: ${String(cause)}`,
        { cause },
      );
    }
    const reader = messageType(name);
    let resolver: avro.Resolver;
    try {
      resolver = reader.createResolver(writer);
    } catch (cause) {
      throw new WireError('TRIB_DECODE_FAILED', `schema ${schemaId} cannot be read as ${name}`, {
        cause,
        details: { schemaId },
      });
    }
    const decoder = { reader, resolver };
    this.decoders.set(key, decoder);
    return decoder;
  }
}
