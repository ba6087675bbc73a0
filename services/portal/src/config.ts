import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();
/** `host:port` of a service's gRPC API. */
const address = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port')
  .optional();

/** The portal's own variables; the kit adds logging, telemetry, HTTP (/metrics, /readyz) and Mongo. */
export const portalConfigSchema = z.object({
  /** The web listener (pages and /api); 0 = a free port, logged as `portal listening`. */
  PORTAL_PORT: z.coerce.number().int().min(0).max(65_535).default(8_443),
  /**
   * The origin browsers use, e.g. `https://portal.example.org`, when a proxy terminates TLS in
   * front of the portal; a form post from any other origin is refused. Unset: the request's own.
   */
  PORTAL_PUBLIC_ORIGIN: z.url().optional(),
  /** The issuer's private JWK (libs/tokens): the portal mints each signed-in user's service token. */
  PORTAL_SIGNING_KEY_FILE: z.string().min(1),
  /** The `iss` and `aud` of the tokens it mints: what the services check (libs/tokens). */
  AUTH_JWT_ISSUER: z.string().min(1).default('switchboard'),
  AUTH_JWT_AUDIENCE: z.string().min(1).default('switchboard'),
  /** Minutes a minted token lives (it is reused until a minute before it expires). */
  PORTAL_TOKEN_TTL_MINUTES: z.coerce.number().int().min(2).max(15).default(5),
  /** YAML list of local accounts applied at start (see README "Accounts"). */
  PORTAL_ACCOUNTS_FILE: z.string().min(1).optional(),
  /** YAML list of tenants' identity providers (see README "OIDC"). */
  PORTAL_OIDC_FILE: z.string().min(1).optional(),
  /** A session ends after this many minutes without a request. */
  PORTAL_SESSION_IDLE_MINUTES: positiveInt.default(30),
  /** …and at the latest this many hours after sign-in. */
  PORTAL_SESSION_MAX_HOURS: positiveInt.max(24).default(12),
  /** Failed sign-ins in a row that lock an account, and for how long. */
  PORTAL_LOCKOUT_ATTEMPTS: positiveInt.default(5),
  PORTAL_LOCKOUT_MINUTES: positiveInt.default(15),
  /** Failed sign-ins from one address within the lock-out window before it must wait. */
  PORTAL_IP_FAILURES: positiveInt.default(20),
  DIRECTORY_ADDRESS: address,
  PRESENCE_ADDRESS: address,
  IVR_ADDRESS: address,
  RATING_ADDRESS: address,
  BILLING_ADDRESS: address,
  FAX_ADDRESS: address,
  ROUTING_ADDRESS: address,
  /** Deadline of one call to a service's API. */
  PORTAL_RPC_TIMEOUT_MS: positiveInt.default(10_000),
});
