import { DeliverPolicy } from '@nats-io/jetstream';
import { IVR_STREAM, IvrEvents, allTenantsSubject, tenantOfSubject } from '@switchboard/events';
import { ivrServiceV1 } from '@switchboard/proto';
import { grpcImplementation, serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { ivrConfigSchema } from './config.js';
import { MenuCache } from './menu-cache.js';
import { MenuCatalog } from './menu-catalog.js';
import { MenuSnapshots } from './menu-snapshots.js';
import { MenuStore } from './menu-store.js';
import { createIvrMetrics } from './metrics.js';
import { createIvrHandlers } from './server.js';
import { ivrRpcServeSubject } from '@switchboard/rpc-clients';
import { ivrPolicy } from './policy.js';

const IVR_SERVICE = 'switchboard.ivr.v1.IvrService';

/**
 * Voice menus per tenant: the admin API over MongoDB, a snapshot per tenant in KV for routing, and
 * EvaluateStep from memory over gRPC and NATS.
 */
export const ivrService: ServiceDefinition<typeof ivrConfigSchema> = {
  name: 'ivr',
  version: '0.1.0',
  config: ivrConfigSchema,
  nats: { streams: [IVR_STREAM] },
  mongo: { indexes: [] },
  grpc: { reflectionProtos: ['switchboard/ivr/v1/ivr_service.proto', 'switchboard/ivr/v1/ivr_events.proto'] },
  async start(context) {
    const { config, logger, track } = context;
    const nats = context.nats!;
    const store = new MenuStore(context.mongo!.db);
    const cache = new MenuCache(store, logger);
    const snapshots = await MenuSnapshots.open(nats, config.IVR_MENUS_BUCKET);
    const catalog = new MenuCatalog(store, cache, snapshots, context.publish, logger);
    // Every tenant whose snapshot the bucket may lack or hold older: all of them at start (a
    // snapshot lost or never written heals), later only one whose write failed.
    const publishSnapshots = async () => {
      for (const set of cache.stored()) {
        if (!snapshots.behind(set.tenantId, set.revision)) continue;
        await snapshots
          .publish(set)
          .catch((error: unknown) =>
            logger.error({ err: error, tenantId: set.tenantId }, 'menu snapshot not published; resync will retry'),
          );
      }
    };

    // Every replica must see every change, so an ordered (ephemeral) consumer rather than a shared
    // durable; it is started before the initial load so no change falls in between.
    const consumer = await nats.js.consumers.get(IVR_STREAM.name, {
      filter_subjects: [allTenantsSubject(IvrEvents.menuChanged.domain, IvrEvents.menuChanged.event)],
      deliver_policy: DeliverPolicy.New,
    });
    const changes = await consumer.consume({
      callback: (message) => {
        let event: ReturnType<typeof IvrEvents.menuChanged.codec.decode>;
        try {
          event = IvrEvents.menuChanged.codec.decode(message.data);
        } catch (error) {
          // Nothing to retry: the periodic resync compares revisions with MongoDB anyway.
          return logger.error({ err: error, subject: message.subject }, 'malformed menu_changed skipped');
        }
        // The subject's tenant is what NATS permissions vouch for.
        const tenantId = tenantOfSubject(message.subject);
        if (!tenantId) return logger.error({ subject: message.subject }, 'menu_changed without tenant skipped');
        void track(
          cache
            .refresh(tenantId, Number(event.revision))
            .catch((error: unknown) =>
              logger.error({ err: error, tenantId }, 'menu refresh failed; resync will retry'),
            ),
        );
      },
    });
    await cache.loadAll();
    await publishSnapshots();

    let resyncing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      resyncing = track(
        cache
          .resync()
          .catch((error: unknown) => logger.error({ err: error }, 'menu resync failed'))
          .then(publishSnapshots),
      );
    }, config.IVR_RESYNC_INTERVAL_MS);
    timer.unref();
    context.onShutdown(async () => {
      clearInterval(timer);
      await changes.close();
      await resyncing;
    });

    const definition = ivrServiceV1.IvrServiceService;
    const handlers = createIvrHandlers(catalog, cache, createIvrMetrics());
    serveNatsRpc(nats, {
      definition: { evaluateStep: definition.evaluateStep },
      handlers: { evaluateStep: handlers.evaluateStep },
      subjectFor: ivrRpcServeSubject,
      queue: 'ivr',
      logger,
      track,
    });
    context.grpc!.addService(IVR_SERVICE, definition, grpcImplementation(definition, handlers), ivrPolicy);
  },
};
