import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { WireError } from '../core/errors.js';
import { frame, unframe } from './confluent.js';
import { SAMPLE_MESSAGES } from './samples.js';
import { MESSAGE_SCHEMAS, messageType, SCHEMA_DIR, schemaText, type MessageName } from './schemas.js';

const names = Object.keys(MESSAGE_SCHEMAS) as MessageName[];

function golden(name: MessageName): Buffer {
  const file = join(SCHEMA_DIR, 'fixtures', MESSAGE_SCHEMAS[name].replace(/\.avsc$/, '.hex'));
  return Buffer.from(readFileSync(file, 'utf8').replace(/\s+/g, ''), 'hex');
}

type Field = { name: string; doc?: string; type: unknown };
function undocumentedFields(schema: unknown, path = ''): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s) => undocumentedFields(s, path));
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as { type?: unknown; fields?: Field[]; items?: unknown; values?: unknown };
  const missing: string[] = [];
  for (const field of s.fields ?? []) {
    if (!field.doc) missing.push(`${path}${field.name}`);
    missing.push(...undocumentedFields(field.type, `${path}${field.name}.`));
  }
  if (s.items) missing.push(...undocumentedFields(s.items, path));
  if (s.values) missing.push(...undocumentedFields(s.values, path));
  if (typeof s.type === 'object') missing.push(...undocumentedFields(s.type, path));
  return missing;
}

describe.each(names)('schema %s', (name) => {
  it('encodes the sample to the golden bytes and decodes them back', () => {
    const bytes = messageType(name).toBuffer(SAMPLE_MESSAGES[name]);
    expect(bytes.toString('hex')).toBe(golden(name).toString('hex'));
    expect(messageType(name).fromBuffer(golden(name))).toEqual(SAMPLE_MESSAGES[name]);
  });

  it('is namespaced and documents every field', () => {
    const schema = JSON.parse(schemaText(name)) as { namespace: string; name: string; doc?: string };
    expect(schema.namespace).toBe('dev.tributary');
    expect(schema.doc).toBeTruthy();
    expect(undocumentedFields(schema)).toEqual([]);
  });

  it('stays readable across a later version with an added optional field, both ways', () => {
    const v1 = messageType(name);
    const schema = JSON.parse(schemaText(name)) as { fields: unknown[] };
    const v2 = avro.Type.forSchema({
      ...schema,
      fields: [
        ...schema.fields,
        { name: 'addedInV2', type: ['null', 'string'], default: null, doc: 'A later field.' },
      ],
    } as avro.Schema);
    // New writer, old reader: the added field is skipped.
    const fromNew = v2.toBuffer({ ...SAMPLE_MESSAGES[name], addedInV2: 'hello' });
    expect(v1.fromBuffer(fromNew, v1.createResolver(v2))).toEqual(SAMPLE_MESSAGES[name]);
    // Old writer, new reader: the added field takes its default.
    const fromOld = v1.toBuffer(SAMPLE_MESSAGES[name]);
    expect(v2.fromBuffer(fromOld, v2.createResolver(v1))).toEqual({
      ...SAMPLE_MESSAGES[name],
      addedInV2: null,
    });
  });
});

describe('Confluent wire format', () => {
  it('frames as magic byte 0, a big-endian schema id, then the Avro bytes', () => {
    const framed = frame(0x01020304, Uint8Array.from([9, 8, 7]));
    expect([...framed]).toEqual([0, 1, 2, 3, 4, 9, 8, 7]);
    const { schemaId, payload } = unframe(framed);
    expect(schemaId).toBe(0x01020304);
    expect([...payload]).toEqual([9, 8, 7]);
  });

  it.each([
    ['a short record', Uint8Array.from([0, 1, 2])],
    ['a wrong magic byte', Uint8Array.from([1, 0, 0, 0, 1, 5])],
    ['garbage', Uint8Array.from(Buffer.from('definitely not avro'))],
  ])('rejects %s with TRIB_DECODE_FAILED', (_, bytes) => {
    expect(() => unframe(bytes)).toThrow(WireError);
    expect(() => unframe(bytes)).toThrow(/TRIB_DECODE_FAILED/);
  });
});

/** A published older version's golden bytes, read by today's reader through schema resolution. */
function readOldGolden(name: MessageName, file: string): unknown {
  const bytes = Buffer.from(
    readFileSync(join(SCHEMA_DIR, 'fixtures', `${file}.hex`), 'utf8').replace(/\s+/g, ''),
    'hex',
  );
  const writer = avro.Type.forSchema(
    JSON.parse(readFileSync(join(SCHEMA_DIR, `${file}.avsc`), 'utf8')) as avro.Schema,
  );
  const reader = messageType(name);
  return reader.fromBuffer(bytes, reader.createResolver(writer));
}

describe('published versions stay readable by the current reader', () => {
  const withoutStages = {
    ...SAMPLE_MESSAGES.ModelUpdate.timings,
    taskReceivedAtMs: null,
    modelReadyAtMs: null,
  };

  it('ModelUpdate v1 golden bytes read as v3, unsigned and without the stage times', () => {
    expect(readOldGolden('ModelUpdate', 'model-update.v1')).toEqual({
      ...SAMPLE_MESSAGES.ModelUpdate,
      signature: null,
      timings: withoutStages,
    });
  });

  it('ModelUpdate v2 golden bytes read as v3, signed, without the stage times', () => {
    expect(readOldGolden('ModelUpdate', 'model-update.v2')).toEqual({
      ...SAMPLE_MESSAGES.ModelUpdate,
      timings: withoutStages,
    });
  });

  it('WorkerCheckIn v1 golden bytes read as v2 with no problem', () => {
    expect(readOldGolden('WorkerCheckIn', 'worker-check-in.v1')).toEqual({
      ...SAMPLE_MESSAGES.WorkerCheckIn,
      problem: null,
    });
  });
});
