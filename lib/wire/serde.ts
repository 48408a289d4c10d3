/**
 * Avro messages in Confluent wire format against a real schema registry. Schemas are registered
 * under the topic-name strategy (`<topic>-value`); encoding uses our own schema (no lookup per
 * message); decoding resolves whatever schema version the writer used to ours, so old and new
 * workers interoperate under BACKWARD_TRANSITIVE compatibility.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
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

  constructor(readonly registry: SchemaRegistry) {}

  static forUrl(registryUrl: string): AvroSerde {
    return new AvroSerde(new SchemaRegistry({ host: registryUrl, retry: { retries: 5 } }));
  }

  /** Registers `name`'s schema for `topic` and returns its id; the registry enforces compatibility. */
  async register(name: MessageName, topic: string): Promise<number> {
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: schemaText(name) },
        { subject: valueSubject(topic) },
      );
      return id;
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      if (status === 409) {
        throw new TributaryError(
          'TRIB_SCHEMA_INCOMPATIBLE',
          `schema ${name} is incompatible with ${valueSubject(topic)}`,
          { cause },
        );
      }
      throw new TributaryError(
        'TRIB_REGISTRY_UNAVAILABLE',
        `could not register ${name} for ${topic}: ${String(cause)}`,
        { cause },
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
