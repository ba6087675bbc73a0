import * as grpc from '@grpc/grpc-js';
import type { directoryServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, connectNats, createLogger, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DirectoryCache } from './directory-cache.js';

// Change events over a real NATS server; the directory's ExportTenant is a stand-in whose answers
// each test sets (version per tenant, or down).

interface Document {
  version: number;
}

let server: NatsServer;
let nats: NatsHandle;
const versions = new Map<string, number>();
const down = new Set<string>();
const loads: string[] = [];
const exporter = {
  async exportTenant(request: directoryServiceV1.ExportTenantRequest) {
    loads.push(request.tenantId);
    if (down.has(request.tenantId)) throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'nobody serves it');
    return { document: JSON.stringify({ version: versions.get(request.tenantId) ?? 1 }) };
  },
};
const warn = vi.fn();
const logger = { warn } as unknown as Logger;
const cache = new DirectoryCache<Document & { tenantId: string }, Document>(exporter, logger, (tenantId, document) => ({
  tenantId,
  ...document,
}));
let stopFollowing: () => void;

const loadsOf = (tenantId: string) => loads.filter((loaded) => loaded === tenantId).length;
const changed = (tenantId: string, entity: string) =>
  nats.connection.publish(`sb.${tenantId}.directory.${entity}_changed`);

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'directory-cache-test',
    logger: createLogger({ service: 'directory-cache-test', level: 'silent' }),
  });
  stopFollowing = cache.follow(nats);
  await nats.connection.flush();
});

afterAll(async () => {
  stopFollowing?.();
  await nats?.connection.close();
  await server?.stop();
});

describe('DirectoryCache', () => {
  it('loads a tenant on first use and then answers from memory', async () => {
    expect(await cache.get('t-a')).toEqual({ tenantId: 't-a', version: 1 });
    expect(await cache.get('t-a')).toEqual({ tenantId: 't-a', version: 1 });
    expect(loadsOf('t-a')).toBe(1);
  });

  it('reloads a tenant in memory on its change events only; tenants not in memory stay unloaded', async () => {
    await cache.get('t-b');
    versions.set('t-b', 2);
    nats.connection.publish('sb.t-b.directory.rpc.ExportTenant');
    changed('t-unloaded', 'staff');
    changed('t-b', 'department');
    await vi.waitFor(async () => expect((await cache.get('t-b')).version).toBe(2));
    // One subscription delivers in order: the events before the last one were seen too.
    expect(loadsOf('t-b')).toBe(2);
    expect(loadsOf('t-unloaded')).toBe(0);
  });

  it('does not keep a failed load, and keeps the old copy when a reload fails', async () => {
    down.add('t-c');
    await expect(cache.get('t-c')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    down.delete('t-c');
    expect(await cache.get('t-c')).toEqual({ tenantId: 't-c', version: 1 });

    down.add('t-c');
    versions.set('t-c', 2);
    changed('t-c', 'number');
    await vi.waitFor(() =>
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ tenantId: 't-c' }), expect.any(String)),
    );
    expect(await cache.get('t-c')).toEqual({ tenantId: 't-c', version: 1 });
    expect(loadsOf('t-c')).toBe(3);
  });

  it('keeps the newest reload when an older one answers after it', async () => {
    // Each ExportTenant answer is released by the test, so the two reloads can finish out of order.
    const pending: Array<(version: number) => void> = [];
    const slow = new DirectoryCache<Document, Document>(
      {
        exportTenant: () =>
          new Promise((resolve) => pending.push((version) => resolve({ document: JSON.stringify({ version }) }))),
      },
      logger,
      (_tenantId, document) => document,
    );
    const first = slow.get('t-d');
    pending.shift()!(1);
    expect(await first).toEqual({ version: 1 });

    slow.refresh('t-d');
    slow.refresh('t-d');
    const [older, newer] = [pending.shift()!, pending.shift()!];
    newer(3);
    await vi.waitFor(async () => expect(await slow.get('t-d')).toEqual({ version: 3 }));
    older(2);
    // The older answer settles on the next turns of the event loop; it must not win.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await slow.get('t-d')).toEqual({ version: 3 });
  });
});
