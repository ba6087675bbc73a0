import { CALLS_STREAM, CDRS_STREAM, CallEvents, DLQ_STREAM, allTenantsSubject } from '@switchboard/events';
import type { ServiceDefinition } from '@switchboard/service-kit';
import { ratingConfigSchema } from './config.js';
import { RatingEngine } from './engine.js';
import { poolSnapshot, startPoolMetrics } from './pool-metrics.js';
import { addRatingService } from './server.js';
import { INDEXES, openStore } from './store.js';
import { TariffStore } from './tariff-store.js';

export const RATING_DURABLE = 'rating-call-ended';

/** The rating service: the durable call-ended consumer and the RatingService gRPC API. */
export const ratingService: ServiceDefinition<typeof ratingConfigSchema> = {
  name: 'rating',
  version: '0.1.0',
  config: ratingConfigSchema,
  nats: { streams: [CALLS_STREAM, CDRS_STREAM, DLQ_STREAM] },
  mongo: { indexes: INDEXES },
  grpc: { reflectionProtos: ['switchboard/rating/v1/rating_service.proto'] },
  start: async (context) => {
    const store = openStore(context.mongo!.db);
    const tariffStore = new TariffStore(store);
    const engine = new RatingEngine(store, tariffStore, context.publish, context.logger);
    addRatingService(context.grpc!, { store, tariffStore, engine });
    context.onShutdown(
      startPoolMetrics(
        () => poolSnapshot(store, tariffStore, engine, new Date()),
        context.config.RATING_METRICS_INTERVAL_MS,
        context.logger,
      ),
    );
    await context.consume({
      stream: CALLS_STREAM,
      durable: RATING_DURABLE,
      filterSubjects: [allTenantsSubject(CallEvents.ended.domain, CallEvents.ended.event)],
      concurrency: context.config.RATING_CONCURRENCY,
      handler: async (message) => {
        const event = message.decode(CallEvents.ended);
        await engine.rateCall(event.meta!.tenantId, event);
      },
    });
  },
};
