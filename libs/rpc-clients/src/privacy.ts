import { PRIVACY_ERASERS, SUBJECT_ROOT, eventSubject } from '@switchboard/events';
import { directoryServiceV1 } from '@switchboard/proto';
import {
  GrpcStatusError,
  natsRpcClient,
  serveNatsRpc,
  type Logger,
  type NatsHandle,
  type RpcClient,
} from '@switchboard/service-kit';
import type { DirectoryRpcClient } from './directory.js';

// Data protection (DSGVO): the directory's EraseNumber asks every service that stores citizens'
// numbers to shorten one number for a tenant, over `sb.<tenant>.privacy.erase.<service>` (each
// service's replicas in one queue group, so one replica answers). One subject per service rather
// than one shared subject with many replies: a service that does not answer is named by its own
// "no responders" or timeout, and NATS permissions grant each service exactly its own subject.

/** The services that store citizens' numbers, each answering its erase subject (declared with their NATS permissions). */
export const PRIVACY_SERVICES = PRIVACY_ERASERS;
export type PrivacyService = (typeof PRIVACY_SERVICES)[number];

const { eraseNumber } = directoryServiceV1.DirectoryServiceService;
/** The same messages as the directory's EraseNumber: a service answers its own `changes`. */
export const PRIVACY_ERASE_DEFINITION = { eraseNumber };

export function privacyEraseSubject(tenantId: string, service: PrivacyService): string {
  return `${eventSubject(tenantId, 'privacy', 'erase')}.${service}`;
}

export const privacyEraseServeSubject = (service: PrivacyService): string =>
  `${SUBJECT_ROOT}.*.privacy.erase.${service}`;

export type PrivacyEraseClient = RpcClient<typeof PRIVACY_ERASE_DEFINITION>;

export function privacyEraseClient(nats: NatsHandle, service: PrivacyService, timeoutMs: number): PrivacyEraseClient {
  return natsRpcClient(nats, {
    definition: PRIVACY_ERASE_DEFINITION,
    subjectFor: (_method, request) => privacyEraseSubject(request.tenantId, service),
    timeoutMs,
  });
}

/** One kind of record a service changed: `kind` names it in the report (e.g. `rated-leg`). */
export interface ErasedCount {
  kind: string;
  count: number;
}

export interface ServePrivacyEraseOptions {
  service: PrivacyService;
  /** Shortens `number` (E.164) in every record of the tenant; idempotent. */
  erase(tenantId: string, number: string): Promise<ErasedCount[]>;
  logger: Logger;
  track?<T>(work: Promise<T>): Promise<T>;
}

/** Serves a service's erase subject (queue group = the service's name). */
export function servePrivacyErase(
  nats: NatsHandle,
  options: ServePrivacyEraseOptions,
): ReturnType<typeof serveNatsRpc> {
  const { service } = options;
  return serveNatsRpc(nats, {
    definition: PRIVACY_ERASE_DEFINITION,
    handlers: {
      eraseNumber: async (request) => {
        const changes = await options.erase(request.tenantId, request.number);
        // Never the number itself: the log would keep what the erase removed.
        options.logger.info({ tenantId: request.tenantId, changes }, 'number erased on request');
        return {
          number: request.number,
          shortened: '',
          changes: changes.map(({ kind, count }) => ({ service, kind, count: String(count) })),
        };
      },
    },
    subjectFor: () => privacyEraseServeSubject(service),
    logger: options.logger,
    ...(options.track ? { track: options.track } : {}),
    queue: service,
  });
}

/** grpc.status.NOT_FOUND (this library does not depend on grpc-js). */
const NOT_FOUND = 5;

/** Days a citizen's full number is kept when the tenant sets none (`Tenant.privacy.retention_days` 0). */
export const DEFAULT_RETENTION_DAYS = 90;

/** The part of the directory's export document that carries the tenant's privacy settings. */
interface PrivacyDocument {
  tenant?: { privacy?: { retentionDays?: number; aggregateOnlyStatistics?: boolean } };
}

export interface PrivacySettings {
  retentionDays: number;
  aggregateOnlyStatistics: boolean;
}

/** The tenant's privacy settings from its export document (defaults where the document has none). */
export function privacyOf(document: PrivacyDocument): PrivacySettings {
  const privacy = document.tenant?.privacy;
  return {
    retentionDays: privacy?.retentionDays || DEFAULT_RETENTION_DAYS,
    aggregateOnlyStatistics: privacy?.aggregateOnlyStatistics ?? false,
  };
}

/**
 * A tenant's settings as a retention sweep needs them: asked from the directory at each sweep
 * (once per tenant per interval, not per record). A tenant the directory does not know (deleted)
 * gets the defaults; any other failure rejects, and the sweep leaves that tenant for its next
 * round rather than shorten by a guess (a tenant may keep numbers longer than the default).
 */
export async function tenantPrivacy(
  directory: Pick<DirectoryRpcClient, 'exportTenant'>,
  tenantId: string,
): Promise<PrivacySettings> {
  try {
    const { document } = await directory.exportTenant(
      directoryServiceV1.ExportTenantRequest.fromPartial({
        tenantId,
        format: directoryServiceV1.DocumentFormat.DOCUMENT_FORMAT_JSON,
      }),
    );
    return privacyOf(JSON.parse(document) as PrivacyDocument);
  } catch (error) {
    if (error instanceof GrpcStatusError && error.code === NOT_FOUND) return privacyOf({});
    throw error;
  }
}

const DAY_MS = 24 * 60 * 60 * 1_000;

/** The instant before which a record's numbers are kept shortened. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * DAY_MS);
}

/**
 * A tenant's retention cutoff for a sweep, or undefined when the directory cannot say now: then
 * nothing of the tenant is shortened this round (logged with what waits, e.g. "its legs wait").
 */
export async function tenantRetentionCutoff(
  directory: Pick<DirectoryRpcClient, 'exportTenant'>,
  tenantId: string,
  now: Date,
  logger: Logger,
  waiting: string,
): Promise<Date | undefined> {
  try {
    return retentionCutoff(now, (await tenantPrivacy(directory, tenantId)).retentionDays);
  } catch (error) {
    logger.warn({ err: error, tenantId }, `retention: tenant settings unavailable; ${waiting} for the next sweep`);
    return undefined;
  }
}

/**
 * The counter every service adds its shortened records to, declared once: `privacy.shortened`
 * (`{record}`; attributes `tenant`, `kind` — e.g. `rated-leg`, `callback` — and `reason` =
 * `retention` | `erase`).
 */
export const PRIVACY_SHORTENED_METRIC = {
  name: 'privacy.shortened',
  description: "Records whose citizens' numbers were shortened, by kind and reason (retention or erase).",
  unit: '{record}',
} as const;

export interface PrivacySweepOptions {
  intervalMs: number;
  /** One round: shortens what is due, in bounded batches; must be idempotent (replicas may overlap). */
  sweep(now: Date): Promise<void>;
  logger: Logger;
  track<T>(work: Promise<T>): Promise<T>;
}

/**
 * Runs a retention sweep every `intervalMs` (the first right away), one round at a time; returns
 * the stop function for shutdown, which waits for a running round.
 */
export function startPrivacySweep(options: PrivacySweepOptions): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const round = () => {
    if (busy) return;
    busy = true;
    running = options
      .track(options.sweep(new Date()))
      .catch((error: unknown) => options.logger.error({ err: error }, 'retention sweep failed; next round retries'))
      .finally(() => {
        busy = false;
      });
  };
  round();
  const timer = setInterval(round, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
