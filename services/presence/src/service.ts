import type * as grpc from '@grpc/grpc-js';
import { CALLS_STREAM, DIRECTORY_STREAM } from '@switchboard/events';
import { presenceV1 } from '@switchboard/proto';
import { grpcImplementation, serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { AgentStore } from './agent-store.js';
import { callEventConsumer } from './call-events.js';
import { presenceConfigSchema } from './config.js';
import { DirectorySync } from './directory-sync.js';
import { observeAgents } from './metrics.js';
import {
  PRESENCE_QUEUE,
  PRESENCE_RESERVATION_DEFINITION,
  directoryRpcClient,
  presenceRpcServeSubject,
} from '@switchboard/rpc-clients';
import { presencePolicy } from './policy.js';
import { StatisticsPrivacy, privateHandlers } from './privacy.js';
import { Presence, unaryMethods } from './presence.js';
import { watchAgents } from './watch.js';

const PRESENCE_SERVICE = 'switchboard.presence.v1.PresenceService';

export const presenceService: ServiceDefinition<typeof presenceConfigSchema> = {
  name: 'presence',
  version: '0.1.0',
  config: presenceConfigSchema,
  nats: { streams: [CALLS_STREAM, DIRECTORY_STREAM] },
  grpc: { reflectionProtos: ['switchboard/presence/v1/presence_service.proto'] },
  start: async ({ config, logger, nats, grpc: server, consume, track, onShutdown, addReadinessCheck }) => {
    const store = await AgentStore.open(nats!, {
      bucket: config.PRESENCE_BUCKET,
      replicas: config.PRESENCE_BUCKET_REPLICAS,
      logger,
    });
    onShutdown(() => store.close());
    addReadinessCheck('presence-kv-watch', () => store.following);
    const presence = new Presence(store, { defaultLeaseSeconds: config.PRESENCE_LEASE_SECONDS });
    const handlers = presence.handlers();
    const privacy = new StatisticsPrivacy(directoryRpcClient(nats!, config.PRESENCE_DIRECTORY_TIMEOUT_MS), logger);

    // Routing's reservations: NATS request/reply only, no token (the NATS permission decides).
    const subscriptions = serveNatsRpc(nats!, {
      definition: PRESENCE_RESERVATION_DEFINITION,
      handlers: {
        reserve: handlers.reserve,
        confirm: handlers.confirm,
        renew: handlers.renew,
        release: handlers.release,
      },
      subjectFor: presenceRpcServeSubject,
      queue: PRESENCE_QUEUE,
      logger,
      track,
    });
    onShutdown(() => subscriptions.forEach((subscription) => subscription.unsubscribe()));

    const watch = watchAgents(store, logger, (tenantId, principal) => privacy.viewFor(tenantId, principal));
    onShutdown(watch.closeAll);
    server!.addService(
      PRESENCE_SERVICE,
      presenceV1.PresenceServiceService,
      {
        ...grpcImplementation(unaryMethods, privateHandlers(handlers, privacy)),
        watchAgents: watch.handler as grpc.UntypedHandleCall,
      },
      presencePolicy((tenantId, agentId) =>
        store.get(tenantId, agentId)?.agent.departments.map((membership) => membership.departmentId),
      ),
    );

    await consume(callEventConsumer(store));

    onShutdown(observeAgents(store, config.PRESENCE_PER_AGENT_METRICS, privacy));

    // Agents come from the directory: its change events reload a tenant, and at start every
    // known tenant is loaded once (in the background: the directory may start after presence).
    const sync = new DirectorySync(nats!, store, logger);
    sync.onTenantChanged = (tenantId, tenant) =>
      privacy.update(tenantId, tenant && (tenant.privacy?.aggregateOnlyStatistics ?? false));
    await consume({ ...sync.consumer(), maxDeliver: 20, backoffMs: [1_000, 5_000, 15_000] });
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    onShutdown(() => {
      stopped = true;
      clearTimeout(retry);
    });
    const initialSync = async (): Promise<void> => {
      try {
        for (const tenantId of await sync.knownTenants(nats!.jsm)) {
          if (!stopped) await sync.syncTenant(tenantId);
        }
      } catch (error) {
        if (stopped) return;
        logger.warn({ err: error }, 'start-up sync from the directory failed; retrying');
        retry = setTimeout(() => void track(initialSync()), config.PRESENCE_DIRECTORY_RETRY_MS);
      }
    };
    void track(initialSync());
  },
};
