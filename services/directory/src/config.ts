import { z } from 'zod';
import { decodeSecretKey } from './secret-box.js';

const KEY_FORMAT = 'must be 32 bytes written as 64 hex digits or as base64, e.g. `openssl rand -hex 32`';

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
  /**
   * How long EraseNumber waits for each service that stores citizens' numbers to shorten one
   * (rating rewrites every page of the tenant that holds it).
   */
  DIRECTORY_ERASE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** Realm of the devices' digest credentials; `asterisk` is Asterisk's default realm. */
  DEVICE_SIP_REALM: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a SIP realm such as asterisk or sip.example.org')
    .default('asterisk'),
  /** AES-256 key sealing the devices' HA1 at rest. Required: there is no safe default. */
  DEVICE_SECRET_KEY: z.string().refine((text) => decodeSecretKey(text) !== undefined, KEY_FORMAT),
  /** Earlier keys, comma-separated: records they sealed are opened and resealed with the current key at start. */
  DEVICE_SECRET_KEYS_PREVIOUS: z
    .string()
    .default('')
    .refine(
      (text) => text === '' || text.split(',').every((key) => decodeSecretKey(key.trim()) !== undefined),
      `each key ${KEY_FORMAT}`,
    ),
});
