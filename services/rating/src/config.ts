import { z } from 'zod';

/** Rating's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const ratingConfigSchema = z.object({
  /** The Rating API's port; `sb usage` and `sb rerate` look for it at 127.0.0.1:50055 (SB_RATING_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_055),
  /** Call-ended events rated at once (legs of one tenant are still rated one at a time). */
  RATING_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(128),
  /** How often the bundle usage gauges (rating.pool.*, rating.overage.amount) are recomputed. */
  RATING_METRICS_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
});
