import { CALLS_STREAM, CDRS_STREAM, CallEvents, DLQ_STREAM, allTenantsSubject } from '@switchboard/events';
import {
  RATING_RPC_DEFINITION,
  directoryRpcClient,
  ratingRpcServeSubject,
  servePrivacyErase,
  startPrivacySweep,
} from '@switchboard/rpc-clients';
import { serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { startBatchConsumer } from './batch-consumer.js';
import { ratingConfigSchema } from './config.js';
import { RatingEngine } from './engine.js';
import { BulkPublisher, legPublisher } from './leg-publisher.js';
import { billableLegs, type LegSource } from './legs.js';
import { poolSnapshot, startPoolMetrics } from './pool-metrics.js';
import { RatingPrivacy } from './privacy.js';
import { addRatingService, usageHandler } from './server.js';
import { DirectorySites, SiteReport } from './sites.js';
import { INDEXES, openStore } from './store.js';
import { TariffStore } from './tariff-store.js';

export const RATING_DURABLE = 'rating-call-ended';

/** The rating service: the durable call-ended consumer (in batches) and the RatingService gRPC API. */
export const ratingService: ServiceDefinition<typeof ratingConfigSchema> = {
  name: 'rating',
  version: '0.1.0',
  config: ratingConfigSchema,
  nats: { streams: [CALLS_STREAM, CDRS_STREAM, DLQ_STREAM] },
  mongo: { indexes: INDEXES },
  grpc: { reflectionProtos: ['switchboard/rating/v1/rating_service.proto'] },
  start: async (context) => {
    const { config, logger } = context;
    const nats = context.nats!;
    const store = openStore(context.mongo!.db);
    const tariffStore = new TariffStore(store);
    const sites = new DirectorySites(directoryRpcClient(nats, config.RATING_DIRECTORY_TIMEOUT_MS), logger);
    context.onShutdown(sites.follow(nats));
    const bulk = new BulkPublisher(nats.connection, nats.inboxPrefix);
    context.onShutdown(() => bulk.close());
    const engine = new RatingEngine(store, tariffStore, context.publish, logger, {
      sites,
      siteReport: new SiteReport(logger),
      publishLegs: legPublisher(bulk),
    });
    addRatingService(context.grpc!, { tariffStore, engine, sites });
    const served = serveNatsRpc(nats, {
      definition: RATING_RPC_DEFINITION,
      handlers: { getUsage: usageHandler({ tariffStore, engine }) },
      subjectFor: ratingRpcServeSubject,
      logger,
      track: context.track,
      queue: 'rating',
    });
    const privacy = new RatingPrivacy(store, directoryRpcClient(nats, config.RATING_DIRECTORY_TIMEOUT_MS), logger);
    const erasing = servePrivacyErase(nats, {
      service: 'rating',
      erase: (tenantId, number) => privacy.erase(tenantId, number),
      logger,
      track: context.track,
    });
    context.onShutdown(() => {
      for (const subscription of [...served, ...erasing]) subscription.unsubscribe();
    });
    context.onShutdown(
      startPrivacySweep({
        intervalMs: config.PRIVACY_SWEEP_INTERVAL_MS,
        sweep: (now) => privacy.sweep(now).then(() => undefined),
        logger,
        track: context.track,
      }),
    );
    context.onShutdown(
      startPoolMetrics(() => poolSnapshot(tariffStore, engine, new Date()), config.RATING_METRICS_INTERVAL_MS, logger),
    );
    const consumer = await startBatchConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: RATING_DURABLE,
      filterSubjects: [allTenantsSubject(CallEvents.ended.domain, CallEvents.ended.event)],
      type: CallEvents.ended,
      batchSize: config.RATING_BATCH_SIZE,
      waitMs: config.RATING_BATCH_WAIT_MS,
      publishing: 2,
      storing: 2,
      ackWaitMs: config.RATING_ACK_WAIT_MS,
      handle: async (batch) => {
        // A call whose legs cannot be read is poison on its own; the rest of the batch is rated.
        const outcome: unknown[] = batch.map(() => undefined);
        const calls: Array<{ index: number; sources: LegSource[] }> = [];
        batch.forEach(({ payload }, index) => {
          try {
            calls.push({ index, sources: billableLegs(payload.meta!.tenantId, payload) });
          } catch (error) {
            outcome[index] = error;
          }
        });
        const committed = await context.track(engine.commit(calls.map((call) => call.sources)));
        const done = context.track(
          committed.publish().then((failures) => {
            calls.forEach((call, position) => (outcome[call.index] = failures[position]));
            return outcome;
          }),
        );
        return { done };
      },
    });
    context.onShutdown(() => consumer.stop());
  },
};
