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

// Ports this process has handed out. The OS can return a port it just freed to the next bind(0),
// so two JVMs started together (Kafka's controller and the registry, say) could both be given it
// before either binds: the second then fails with "port in use".
// Only recent ones matter (a JVM binds within seconds): the oldest are forgotten past this many.
const REMEMBERED = 1024;
const handedOut = new Set<number>();

/** A port the OS reports free right now on 127.0.0.1, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await listenOnce(0);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      if (handedOut.size > REMEMBERED) handedOut.delete(handedOut.values().next().value as number);
      return port;
    }
  }
  throw new StackError('TRIB_PORT_IN_USE', 'no fresh free port on the loopback after 100 tries', {
    details: { handedOut: handedOut.size },
  });
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
