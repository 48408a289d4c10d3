/** GET /status (JSON) and GET /metrics (Prometheus text exposition format 0.0.4). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function serveStatus(
  port: number,
  handlers: { status: () => unknown; metrics: () => string },
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    try {
      route(request.url, response);
    } catch (error) {
      // A status page must never take the coordinator down.
      response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(`status unavailable: ${(error as Error).message}\n`);
    }
  });
  const route = (url: string | undefined, response: import('node:http').ServerResponse) => {
    if (url === '/status') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(handlers.status()));
    } else if (url === '/metrics') {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      response.end(handlers.metrics());
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found: try /status or /metrics\n');
    }
  };
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
