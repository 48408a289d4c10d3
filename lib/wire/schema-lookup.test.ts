import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaLookup } from './schema-lookup.js';

describe('SchemaLookup', () => {
  const requests: string[] = [];
  let failNext = 0;
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    setTimeout(() => {
      if (failNext > 0) {
        failNext -= 1;
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'R', fields: [] }) }));
    }, 50);
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches a schema once however many records ask for it at the same time', async () => {
    requests.length = 0;
    const lookup = new SchemaLookup(url);
    const types = await Promise.all(Array.from({ length: 200 }, () => lookup.get(7)));
    expect(requests).toEqual(['/schemas/ids/7']);
    expect(new Set(types).size).toBe(1);
    await lookup.get(7);
    expect(requests).toHaveLength(1);
  });

  it('shares a failed fetch among its askers, and fetches again after an unavailable registry', async () => {
    requests.length = 0;
    failNext = 1;
    const lookup = new SchemaLookup(url);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => lookup.get(8)));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(requests).toHaveLength(1);
    await expect(lookup.get(8)).resolves.toBeDefined();
    expect(requests).toHaveLength(2);
  });
});

describe('SchemaLookup.prefetchLatest', () => {
  const requests: string[] = [];
  const record = JSON.stringify({ type: 'record', name: 'Update', fields: [{ name: 'n', type: 'int' }] });
  const answers: Record<string, [number, unknown]> = {
    '/subjects/updates-value/versions/latest': [
      200,
      { subject: 'updates-value', version: 3, id: 42, schema: record },
    ],
    '/subjects/protobuf-value/versions/latest': [
      200,
      { id: 43, schemaType: 'PROTOBUF', schema: 'syntax = "proto3";' },
    ],
    '/subjects/no-id-value/versions/latest': [200, { schema: record }],
    '/subjects/broken-value/versions/latest': [200, { id: 44, schema: '{"type": "nonsense"}' }],
    '/subjects/busy-value/versions/latest': [503, {}],
    '/schemas/ids/42': [200, { schema: record }],
  };
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const [status, body] = answers[request.url ?? ''] ?? [404, { error_code: 40401 }];
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("caches a subject's latest schema under its id, so its first record needs no registry call", async () => {
    requests.length = 0;
    const lookup = new SchemaLookup(url);
    await expect(lookup.prefetchLatest('updates-value')).resolves.toBe(42);
    const type = await lookup.get(42);
    expect(requests).toEqual(['/subjects/updates-value/versions/latest']);
    expect(type.toBuffer({ n: 7 })).toEqual(Buffer.from([14]));
  });

  it('returns null and caches nothing for a missing subject, a busy registry, or an answer that is no Avro schema with an id', async () => {
    const lookup = new SchemaLookup(url);
    for (const subject of ['missing-value', 'busy-value', 'protobuf-value', 'no-id-value', 'broken-value'])
      await expect(lookup.prefetchLatest(subject)).resolves.toBeNull();
    await expect(new SchemaLookup('http://127.0.0.1:1').prefetchLatest('updates-value')).resolves.toBeNull();
    requests.length = 0;
    await expect(lookup.get(43)).rejects.toThrow(/unknown to the registry/);
    expect(requests).toEqual(['/schemas/ids/43']); // nothing was cached for the Protobuf answer
  });
});
