import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import type { PortalEnv } from './context.js';

export interface WebServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The portal's web listener (pages and /api), apart from the kit's /metrics and /readyz port. */
export function startWebServer(app: Hono<PortalEnv>, host: string, port: number): Promise<WebServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) =>
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections of idle browsers would hold the close open.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      }),
    );
    server.once('error', reject);
  });
}
