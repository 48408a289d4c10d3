/** Loopback port helpers: pick a free port, or prove a requested one is free before a JVM tries it. */
import { createServer } from 'node:net';
import { StackError } from '../../lib/core/errors.js';

export const LOOPBACK = '127.0.0.1';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/** A port the OS reports free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return listenOnce(0);
}

/** Returns `port` if it is free, else throws TRIB_PORT_IN_USE naming who asked for it. */
export async function claimPort(port: number, purpose: string): Promise<number> {
  try {
    return await listenOnce(port);
  } catch (cause) {
    throw new StackError('TRIB_PORT_IN_USE', `port ${port} on ${LOOPBACK} (${purpose}) is already in use`, {
      cause,
      details: { port, purpose },
    });
  }
}

/** `requested` when given (checked free), else a fresh free port. */
export async function portFor(requested: number | undefined, purpose: string): Promise<number> {
  return requested === undefined ? freePort() : claimPort(requested, purpose);
}
