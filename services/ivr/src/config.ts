import { KV_BUCKETS } from '@switchboard/events';
import { z } from 'zod';

/** The ivr service's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const ivrConfigSchema = z.object({
  /** The IVR API's port (gRPC); routing uses NATS request/reply instead. */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_056),
  /**
   * How often the in-memory menus are compared with MongoDB's revisions, in case a change event
   * was missed (publish failed after the write, or a reload failed); the same round writes a menu
   * snapshot whose write failed.
   */
  IVR_RESYNC_INTERVAL_MS: z.coerce.number().int().positive().default(30_000),
  /** The KV bucket of the menu snapshots routing mirrors (key = tenant id). */
  IVR_MENUS_BUCKET: z.string().min(1).default(KV_BUCKETS.ivrMenus),
});
