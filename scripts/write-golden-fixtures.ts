/**
 * Writes schemas/fixtures/<schema>.hex for schemas that have none yet: the Avro binary encoding of
 * lib/wire/samples.ts. Existing fixtures are never overwritten (a published schema never changes).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_MESSAGES } from '../lib/wire/samples.js';
import { MESSAGE_SCHEMAS, messageType, SCHEMA_DIR, type MessageName } from '../lib/wire/schemas.js';

for (const name of Object.keys(MESSAGE_SCHEMAS) as MessageName[]) {
  const file = join(SCHEMA_DIR, 'fixtures', MESSAGE_SCHEMAS[name].replace(/\.avsc$/, '.hex'));
  if (existsSync(file)) continue;
  const bytes = messageType(name).toBuffer(SAMPLE_MESSAGES[name]);
  writeFileSync(
    file,
    `${bytes
      .toString('hex')
      .replace(/(.{64})/g, '$1\n')
      .trim()}\n`,
  );
  console.log(JSON.stringify({ event: 'fixture-written', file, bytes: bytes.length }));
}
