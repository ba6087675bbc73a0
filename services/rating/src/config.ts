import { z } from 'zod';

/** Rating's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const ratingConfigSchema = z.object({
  /** The Rating API's port; `sb usage` and `sb rerate` look for it at 127.0.0.1:50055 (SB_RATING_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_055),
  /** Call-ended events rated in one batch (one write per tenant's month per batch). */
  RATING_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** How long JetStream waits for a delivered call-ended event's ack before it delivers it again (ms). */
  RATING_ACK_WAIT_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** How long a batch that has events waits for more before it is rated (ms). */
  RATING_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(1_000).default(5),
  /** How often the bundle usage gauges (rating.pool.*, rating.overage.amount) are recomputed. */
  RATING_METRICS_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
  /** How long rating waits for the directory's answer (a tenant's sites) over NATS. */
  RATING_DIRECTORY_TIMEOUT_MS: z.coerce.number().int().min(100).default(2_000),
  /** How often rated legs past their tenant's retention days get their numbers shortened (ms). */
  PRIVACY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
});
