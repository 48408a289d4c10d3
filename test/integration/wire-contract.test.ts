/**
 * The wire contract against the real registry: every schema registers under the topic-name
 * strategy, messages round-trip in Confluent wire format, evolution is enforced as
 * BACKWARD_TRANSITIVE, and unknown schema ids are typed errors. Issue #3.
 */
import { describe, expect, inject, it } from 'vitest';
import { isTributaryError } from '../../lib/core/errors.js';
import { frame } from '../../lib/wire/confluent.js';
import { SAMPLE_MESSAGES } from '../../lib/wire/samples.js';
import { MESSAGE_SCHEMAS, schemaText, type MessageName } from '../../lib/wire/schemas.js';
import { AvroSerde, valueSubject } from '../../lib/wire/serde.js';
import { uniqueName } from './helpers.js';

const names = Object.keys(MESSAGE_SCHEMAS) as MessageName[];

describe('Avro serde against the schema registry', () => {
  it.each(names)('registers %s and round-trips the sample', async (name) => {
    const serde = AvroSerde.forUrl(inject('registryUrl'));
    const topic = uniqueName(`contract-${name}`);
    const id = await serde.register(name, topic);
    const bytes = serde.encode(name, id, SAMPLE_MESSAGES[name]);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    expect(await AvroSerde.forUrl(inject('registryUrl')).decode(name, bytes)).toEqual(SAMPLE_MESSAGES[name]);
  });

  it('accepts a compatible evolution, refuses an incompatible one, and old readers read new bytes', async () => {
    const serde = AvroSerde.forUrl(inject('registryUrl'));
    const topic = uniqueName('contract-evolution');
    await serde.register('WorkerCheckIn', topic);
    const v1 = JSON.parse(schemaText('WorkerCheckIn')) as { fields: unknown[] };
    const v2 = {
      ...v1,
      fields: [...v1.fields, { name: 'region', type: ['null', 'string'], default: null, doc: 'added in v2' }],
    };
    const v2Id = await serde.registerSchema(valueSubject(topic), JSON.stringify(v2));

    const v3 = {
      ...v1,
      fields: [...v1.fields, { name: 'mandatory', type: 'string', doc: 'no default: breaks old data' }],
    };
    const refused = await serde
      .registerSchema(valueSubject(topic), JSON.stringify(v3))
      .catch((e: unknown) => e);
    expect(isTributaryError(refused, 'TRIB_SCHEMA_INCOMPATIBLE')).toBe(true);

    // A v2 writer's bytes, read by this (v1) code.
    const writerV2 = await serde.registry.encode(v2Id, {
      ...SAMPLE_MESSAGES.WorkerCheckIn,
      region: 'eu-west',
    });
    expect(await serde.decode('WorkerCheckIn', writerV2)).toEqual(SAMPLE_MESSAGES.WorkerCheckIn);
  });

  it('rejects an unknown schema id with TRIB_UNKNOWN_SCHEMA', async () => {
    const serde = AvroSerde.forUrl(inject('registryUrl'));
    const error = await serde
      .decode('ModelUpdate', frame(987_654, Uint8Array.from([1, 2, 3])))
      .catch((e: unknown) => e);
    expect(isTributaryError(error, 'TRIB_UNKNOWN_SCHEMA')).toBe(true);
  });

  // The schema id names another message: refused as a mismatch at once, before any byte is decoded.
  it('rejects bytes of another message type with TRIB_SCHEMA_MISMATCH', async () => {
    const serde = AvroSerde.forUrl(inject('registryUrl'));
    const topic = uniqueName('contract-mixup');
    const id = await serde.register('TrainTask', topic);
    const error = await serde
      .decode('ModelUpdate', serde.encode('TrainTask', id, SAMPLE_MESSAGES.TrainTask))
      .catch((e: unknown) => e);
    expect(isTributaryError(error, 'TRIB_SCHEMA_MISMATCH')).toBe(true);
  });
});
