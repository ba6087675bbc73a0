import { z } from 'zod';

/** Rating's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const ratingConfigSchema = z.object({
  /** Call-ended events rated at once (legs of one tenant are still rated one at a time). */
  RATING_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(128),
});
