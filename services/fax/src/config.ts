import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

/** The fax service's own variables; the kit adds NATS, Mongo and gRPC ones. */
export const faxConfigSchema = z.object({
  /** The Fax API's port; `sb fax` looks for it at 127.0.0.1:50053 (SB_FAX_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_053),
  /** Where department mail goes out, e.g. `smtp://mail.example.org:587` or `smtps://user:pass@host`. */
  SMTP_URL: z.string().regex(/^smtps?:\/\/\S+$/, 'must be an smtp:// or smtps:// URL'),
  FAX_MAIL_FROM: z.string().min(3).default('Switchboard Fax <fax@switchboard.invalid>'),
  VOICEMAIL_MAIL_FROM: z.string().min(3).default('Switchboard Voicemail <voicemail@switchboard.invalid>'),
  /** Connection and greeting timeout towards the SMTP server. */
  SMTP_TIMEOUT_MS: positiveInt.default(10_000),
  /** Delays between delivery attempts (faxes and voicemails) while the SMTP server fails; the last one repeats. */
  FAX_DELIVERY_BACKOFF_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be a comma-separated list of milliseconds')
    .default('5000,30000,120000,600000')
    .transform((value) => value.split(',').map(Number)),
  /**
   * How long a received fax or voicemail stays with a replica that stopped answering before
   * JetStream hands it to another (or the restarted) one; a running intake keeps it with heartbeats.
   */
  FAX_ACK_WAIT_MS: positiveInt.default(30_000),
  /**
   * A retry by API (RetryFaxDelivery, RetryVoicemailDelivery) still pending after this long died
   * with its process and is delivered again; longer than a delivery can take (directory + SMTP).
   */
  FAX_RETRY_LEASE_MS: positiveInt.default(120_000),
  /** Attempts before a delivery is given up (status DELIVERY_FAILED, kept in the inbox). */
  FAX_DELIVERY_MAX_ATTEMPTS: positiveInt.default(20),
  /** Timeout of a request to the directory (loading a tenant's fax routes). */
  FAX_DIRECTORY_TIMEOUT_MS: positiveInt.default(3_000),
  /** Retention of tenants that set none (faxes and voicemails). */
  FAX_RETENTION_DEFAULT_DAYS: positiveInt.default(90),
  FAX_RETENTION_SWEEP_INTERVAL_MS: positiveInt.default(60 * 60 * 1_000),
  /** How often callers' numbers past the tenant's privacy retention days are shortened (ms). */
  PRIVACY_SWEEP_INTERVAL_MS: positiveInt.default(60 * 60 * 1_000),
});
