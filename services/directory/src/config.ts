import { z } from 'zod';

/** The directory's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const directoryConfigSchema = z.object({
  /** The Directory API's port; `sb` looks for it at 127.0.0.1:50054 (SB_DIRECTORY_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_054),
  /**
   * Full reload of every tenant from MongoDB, so a replica that missed change events (e.g. while
   * NATS reconnected) still converges.
   */
  DIRECTORY_RELOAD_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 60_000),
});

export type DirectoryConfig = z.infer<typeof directoryConfigSchema>;
