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
