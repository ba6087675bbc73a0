import * as grpc from '@grpc/grpc-js';
import { DIRECTORY_RPC_DEFINITION, directoryRpcServeSubject } from '@switchboard/rpc-clients';
import { GrpcStatusError, serveNatsRpc, type Logger, type NatsHandle } from '@switchboard/service-kit';

/**
 * The directory as rating sees it, for tests without the directory service: ExportTenant over NATS
 * with each tenant's sites. A tenant given `undefined` is unknown (NOT_FOUND); one marked down
 * answers UNAVAILABLE, as an unreachable directory would look to its caller.
 */
export interface TestDirectory {
  setSites(tenantId: string, sites: readonly string[] | undefined): void;
  setDown(tenantId: string, down: boolean): void;
  /** The tenant's privacy settings in its export document (none: the defaults). */
  setPrivacy(tenantId: string, privacy: { retentionDays?: number; aggregateOnlyStatistics?: boolean }): void;
  stop(): void;
}

export function serveTestDirectory(nats: NatsHandle, logger: Logger, defaultSites: readonly string[]): TestDirectory {
  const sites = new Map<string, readonly string[] | undefined>();
  const down = new Set<string>();
  const privacy = new Map<string, { retentionDays?: number; aggregateOnlyStatistics?: boolean }>();
  const unimplemented = () =>
    Promise.reject(new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'the test directory answers ExportTenant only'));
  const subscriptions = serveNatsRpc(nats, {
    definition: DIRECTORY_RPC_DEFINITION,
    subjectFor: directoryRpcServeSubject,
    logger,
    queue: 'directory',
    handlers: {
      resolveNumber: unimplemented,
      isOpen: unimplemented,
      listStaff: unimplemented,
      listDepartments: unimplemented,
      exportTenant: async ({ tenantId }) => {
        if (down.has(tenantId)) throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'directory is down');
        const known = sites.has(tenantId) ? sites.get(tenantId) : defaultSites;
        if (!known) throw new GrpcStatusError(grpc.status.NOT_FOUND, `no tenant ${tenantId}`);
        return {
          document: JSON.stringify({
            tenant: { tenantId, ...(privacy.has(tenantId) ? { privacy: privacy.get(tenantId) } : {}) },
            sites: known.map((siteId) => ({ siteId, name: siteId })),
          }),
        };
      },
    },
  });
  // What the directory publishes on a change, so every replica's cache reloads the tenant.
  const changed = (tenantId: string) => nats.connection.publish(`sb.${tenantId}.directory.site_changed`);
  return {
    setSites: (tenantId, list) => {
      sites.set(tenantId, list);
      changed(tenantId);
    },
    setDown: (tenantId, isDown) => {
      if (isDown) down.add(tenantId);
      else down.delete(tenantId);
      changed(tenantId);
    },
    setPrivacy: (tenantId, settings) => {
      privacy.set(tenantId, settings);
      changed(tenantId);
    },
    stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()),
  };
}
