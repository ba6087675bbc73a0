import { hostname } from 'node:os';
import { z } from 'zod';

const bucketName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a NATS KV bucket name');
const ids = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be department ids separated by commas')));

export const routingConfigSchema = z.object({
  /** The Routing API's port; `sb calls` / `sb queue` look for it at 127.0.0.1:50058 (SB_ROUTING_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_058),
  /** Name of this replica; its owner name in call state and its lease key add a nonce per process start. */
  ROUTING_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be letters, digits, _ and -, dots between them')
    .default(`${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${process.pid}`),
  /**
   * A call.started whose replica died before it wrote the call's state (milliseconds after
   * taking it) is redelivered after this long. Every later death is covered by the lease.
   */
  ROUTING_ACK_WAIT_MS: z.coerce.number().int().min(500).max(600_000).default(3_000),
  /** Replica liveness: each replica renews its key this often. */
  ROUTING_LEASE_RENEW_MS: z.coerce.number().int().min(20).max(60_000).default(500),
  /** A replica whose key was not renewed this long (by the watcher's clock) is dead; at least 3 renewals. */
  ROUTING_LEASE_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  ROUTING_REPLICAS_BUCKET: bucketName.default('routing-replicas'),
  /** A call.started this old that routing never saw is not routed (a replay of old events, not a caller). */
  ROUTING_MAX_START_AGE_MS: z.coerce.number().int().min(1_000).default(600_000),
  /** Calls one replica routes at once (no channel limit: set high). */
  ROUTING_MAX_CALLS: z.coerce.number().int().min(1).max(100_000).default(2_000),
  ROUTING_CALLS_BUCKET: bucketName.default('routing-calls'),
  ROUTING_QUEUE_BUCKET: bucketName.default('routing-queue'),
  ROUTING_CALLBACKS_BUCKET: bucketName.default('routing-callbacks'),
  /** Holds the callback worker's lease (one replica dials callbacks at a time). */
  ROUTING_CALLBACK_LEASE_BUCKET: bucketName.default('routing-callback-lease'),
  /** How often the callback worker looks at the stored requests. */
  ROUTING_CALLBACK_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(10_000),
  /** The worker's lease lasts this long without renewal; longer than one ring plus its request. */
  ROUTING_CALLBACK_LEASE_MS: z.coerce.number().int().min(1_000).default(90_000),
  /** Seconds a callback rings the citizen. */
  ROUTING_CALLBACK_RING_SECONDS: z.coerce.number().int().min(5).max(120).default(30),
  /** Dial-back attempts before a request is dropped. */
  ROUTING_CALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Wait before the second attempt; doubled for each further one. */
  ROUTING_CALLBACK_RETRY_MS: z.coerce.number().int().min(100).default(600_000),
  /** Presence's bucket, watched (read only) to notice agents freeing up. */
  ROUTING_PRESENCE_BUCKET: bucketName.default('presence'),
  /** How long call state and callback requests are kept after the last write. */
  ROUTING_STATE_TTL_MS: z.coerce.number().int().min(60_000).default(86_400_000),
  /** How often callback requests and ended calls past the tenant's retention days are withdrawn or shortened (ms). */
  PRIVACY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /** First of these department ids a tenant has takes calls nothing else can route. */
  ROUTING_FALLBACK_DEPARTMENTS: ids.default(['fallback', 'zentrale']),
  /** Waiting callers retry a reservation at least this often, in case a presence change was missed. */
  ROUTING_QUEUE_RETRY_MS: z.coerce.number().int().min(50).max(60_000).default(3_000),
  /**
   * An agent whose phone answered busy is held out of offers (presence's PHONE_BUSY) this long,
   * so waiting callers do not re-dial a busy phone every few seconds; then offered again.
   */
  ROUTING_BUSY_BACKOFF_SECONDS: z.coerce.number().int().min(0).max(3_600).default(30),
  /** Position announcements to waiting callers, this far apart. */
  ROUTING_ANNOUNCE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** The expected wait is the mean of a department's answered waits this recent. */
  ROUTING_WAIT_ESTIMATE_WINDOW_MS: z.coerce.number().int().min(60_000).default(1_800_000),
  /** Fewer answers in the window (on this replica): no expected wait is announced. */
  ROUTING_WAIT_ESTIMATE_MIN_SAMPLES: z.coerce.number().int().min(1).max(50).default(5),
  /** Timeout of directory, IVR and presence requests and of call-control commands that do not ring. */
  ROUTING_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** Dial string for outbound short codes (110, 112); `{number}` is replaced. Same as the adapter's. */
  ROUTING_TRUNK_ENDPOINT: z.string().includes('{number}').default('PJSIP/{number}@trunk'),
});

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
