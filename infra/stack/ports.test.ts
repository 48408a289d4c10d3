import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { claimPort, freePort, LOOPBACK } from './ports.js';

describe('freePort', () => {
  it('never hands out the same port twice, even when asked concurrently', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

describe('claimPort', () => {
  it('returns a free port and names the purpose of a taken one', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: LOOPBACK }, resolve));
    const address = server.address();
    const taken = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await expect(claimPort(taken, 'test listener')).rejects.toMatchObject({
        code: 'TRIB_PORT_IN_USE',
        message: expect.stringContaining('test listener') as unknown,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await claimPort(taken, 'test listener')).toBe(taken);
  });
});
