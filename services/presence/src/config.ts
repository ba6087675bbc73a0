import { z } from 'zod';

export const presenceConfigSchema = z.object({
  /** The Presence API's port; `sb presence` looks for it at 127.0.0.1:50057 (SB_PRESENCE_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_057),
  /** NATS KV bucket holding every tenant's agents (one per platform); keys `<tenantId>.<agentId>`. */
  PRESENCE_BUCKET: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('presence'),
  /** Replicas of the bucket's stream in a NATS cluster. */
  PRESENCE_BUCKET_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Lease of a reservation when the request names none: unconfirmed, it returns the agent after this. */
  PRESENCE_LEASE_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /**
   * Also export each agent's state as a metric (`presence.agent.state`). Off by default: staff
   * councils often forbid per-person statistics.
   */
  PRESENCE_PER_AGENT_METRICS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /** Delay before the start-up sync from the directory is tried again after a failure. */
  PRESENCE_DIRECTORY_RETRY_MS: z.coerce.number().int().positive().default(5_000),
  /** How long presence waits for the directory's answer on a tenant's privacy settings (ms). */
  PRESENCE_DIRECTORY_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
});
