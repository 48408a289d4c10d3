/**
 * Writer schemas by id from a Confluent-compatible registry (`GET /schemas/ids/{id}`), with the
 * answer classified so that callers can tell a record's fault from the registry's:
 *   - no answer, a timeout, HTTP 5xx or 429        → TRIB_REGISTRY_UNAVAILABLE (retriable)
 *   - HTTP 404 (or any other 4xx)                   → TRIB_UNKNOWN_SCHEMA       (the record's fault)
 *   - a schema that is not Avro, or does not parse  → TRIB_SCHEMA_MISMATCH      (the record's fault)
 * Ids are immutable in a registry, so answers are cached: parsed schemas and final refusals alike,
 * each in a bounded LRU (a flood of made-up ids neither grows memory nor hammers the registry).
 */
import avro from 'avsc';
import { TributaryError, WireError } from '../core/errors.js';

/** The largest schema document read from the registry; ours are a few KiB. */
export const MAX_SCHEMA_RESPONSE_BYTES = 1024 * 1024;

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly capacity: number) {}
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
  get size(): number {
    return this.entries.size;
  }
}

async function readCapped(response: Response, cap: number): Promise<string | null> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > cap) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

export class SchemaLookup {
  private readonly schemas = new BoundedCache<number, avro.Type>(256);
  private readonly refusals = new BoundedCache<number, WireError>(4096);
  private readonly inFlight = new Map<number, Promise<avro.Type>>();

  constructor(
    private readonly registryUrl: string,
    /** Authentication headers (lib/security/client.ts registryHeaders). */
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = 10_000,
  ) {}

  /** The writer schema of `schemaId`; throws as described in the module header. */
  async get(schemaId: number): Promise<avro.Type> {
    const cached = this.schemas.get(schemaId);
    if (cached) return cached;
    const refused = this.refusals.get(schemaId);
    if (refused) throw refused;
    // Records of one new schema arriving together share one fetch (a fleet's burst, a topic read whole).
    let fetching = this.inFlight.get(schemaId);
    if (!fetching) {
      fetching = this.fetchSchema(schemaId)
        .then((type) => (this.schemas.set(schemaId, type), type))
        .catch((error: unknown) => {
          if (error instanceof WireError) this.refusals.set(schemaId, error);
          throw error;
        })
        .finally(() => this.inFlight.delete(schemaId));
      this.inFlight.set(schemaId, fetching);
    }
    return fetching;
  }

  private async fetchSchema(schemaId: number): Promise<avro.Type> {
    let response: Response;
    let body: string | null;
    try {
      response = await fetch(`${this.registryUrl}/schemas/ids/${schemaId}`, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = await readCapped(response, MAX_SCHEMA_RESPONSE_BYTES);
    } catch (cause) {
      throw new TributaryError(
        'TRIB_REGISTRY_UNAVAILABLE',
        `could not fetch schema ${schemaId}: ${String(cause)}`,
        { cause, details: { schemaId } },
      );
    }
    if (response.status >= 500 || response.status === 429) {
      throw new TributaryError(
        'TRIB_REGISTRY_UNAVAILABLE',
        `the registry answered HTTP ${response.status} for schema ${schemaId}`,
        { details: { schemaId, status: response.status } },
      );
    }
    if (!response.ok) {
      throw new WireError(
        'TRIB_UNKNOWN_SCHEMA',
        `schema id ${schemaId} is unknown to the registry (HTTP ${response.status})`,
        { details: { schemaId, status: response.status } },
      );
    }
    return parseSchemaDocument(body, schemaId).type;
  }

  /**
   * Fetches the latest version of `subject` into the cache, before a record of it arrives: the first
   * record of a new writer schema otherwise waits on the registry (Apicurio: 25–55 ms, measured in
   * round 1 of MNIST jobs). Best effort: the schema's id, or null when the subject does not exist yet,
   * the registry does not answer, or the answer is not an Avro schema (a record then fetches its
   * schema by id, as it would have).
   */
  async prefetchLatest(subject: string): Promise<number | null> {
    try {
      const response = await fetch(
        `${this.registryUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`,
        { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) },
      );
      const body = await readCapped(response, MAX_SCHEMA_RESPONSE_BYTES);
      if (!response.ok) return null;
      const { id, type } = parseSchemaDocument(body, null);
      if (id === null) return null;
      this.schemas.set(id, type);
      return id;
    } catch {
      return null;
    }
  }

  /** Whether the registry answers at all right now (for telling an outage from a bad id). */
  async answers(knownSchemaId: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.registryUrl}/schemas/ids/${knownSchemaId}`, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return response.ok;
    } catch {
      return false;
    }
  }
}

/**
 * A registry's schema document (`{schema, schemaType?, id?}`) as an Avro type, and the id it names
 * (the by-id endpoint names none: `knownId`). Throws TRIB_SCHEMA_MISMATCH for anything else.
 */
function parseSchemaDocument(
  body: string | null,
  knownId: number | null,
): { id: number | null; type: avro.Type } {
  const label = knownId === null ? 'the latest schema' : `schema id ${knownId}`;
  const mismatch = (why: string, cause?: unknown) =>
    new WireError('TRIB_SCHEMA_MISMATCH', `${label} ${why}`, { cause, details: { schemaId: knownId } });
  if (body === null) throw mismatch(`is larger than ${MAX_SCHEMA_RESPONSE_BYTES} bytes`);
  let document: { schema?: unknown; schemaType?: unknown; id?: unknown };
  try {
    document = JSON.parse(body) as typeof document;
  } catch {
    throw mismatch('came back as something other than JSON');
  }
  if (document.schemaType !== undefined && document.schemaType !== 'AVRO')
    throw mismatch(`is a ${String(document.schemaType)} schema, not Avro`);
  if (typeof document.schema !== 'string') throw mismatch('has no schema text');
  const id =
    Number.isSafeInteger(document.id) && (document.id as number) >= 0 ? (document.id as number) : null;
  try {
    return { id: knownId ?? id, type: avro.Type.forSchema(JSON.parse(document.schema) as avro.Schema) };
  } catch (cause) {
    throw mismatch('is not a valid Avro schema', cause);
  }
}
