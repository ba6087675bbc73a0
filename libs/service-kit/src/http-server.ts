import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Readiness {
  ready: boolean;
  draining: boolean;
  checks: Record<string, boolean>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  readiness(): Promise<Readiness>;
  metrics?: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** `/healthz` (the process is alive), `/readyz` (dependencies up, not draining) and `/metrics`. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return json(response, 405, { error: 'method not allowed' });
    if (path === '/healthz') return json(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      options.readiness().then(
        (report) => json(response, report.ready ? 200 : 503, report),
        (error: unknown) => json(response, 503, { ready: false, error: String(error) }),
      );
      return;
    }
    if (path === '/metrics' && options.metrics) return options.metrics(request, response);
    return json(response, 404, { error: `no such path: ${path}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
