import type { PubAck } from '@nats-io/jetstream';
import { metrics, type Counter } from '@opentelemetry/api';
import { SubjectError } from '@switchboard/events';
import { shortenNumber } from '@switchboard/numbering';
import { auditV1, type auditEventsV1 } from '@switchboard/proto';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { AuditedChange } from './grpc-server.js';
import type { Logger } from './logger.js';
import { newEventMeta } from './nats/event-meta.js';

/** Longest summary stored, in UTF-8 bytes. */
export const SUMMARY_LIMIT_BYTES = 4_096;
export const MASK = '***';

// Field names are split into words (camelCase, snake_case) and a field is secret when one word
// says so; `key` alone is an IVR digit or a callback key, so it only counts with a qualifier
// (`apiKey`, `privateKey`, `secret_key`).
const SECRET_WORDS = new Set([
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'tokens',
  'pin',
  'pins',
  'credential',
  'credentials',
  'cred',
  'creds',
  'ha1',
]);
const KEY_QUALIFIERS = new Set(['api', 'private', 'secret', 'signing', 'access', 'encryption', 'auth', 'shared']);
// A JWT (bearer token) in any field, whatever the field is called.
const JWT = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;
// A phone number (E.164, or national / international with a leading 0): the log is append-only and
// must not keep a citizen's number that retention or an erase shortened everywhere else.
const PHONE_NUMBER = /^(?:\+|00?)[1-9]\d{5,14}$/;

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Whether a request field holds a secret (passwords, keys, tokens, PINs, credentials). */
export function isSecretField(name: string): boolean {
  const parts = words(name);
  if (parts.some((part) => SECRET_WORDS.has(part))) return true;
  const last = parts.at(-1);
  return (last === 'key' || last === 'keys') && parts.slice(0, -1).some((part) => KEY_QUALIFIERS.has(part));
}

/**
 * The request as plain JSON values with every secret replaced by `***` (an empty one stays empty,
 * so the entry shows it was not set) and every phone number shortened (last three digits `xxx`);
 * bytes become `<N bytes>`, dates ISO strings.
 */
export function maskSecrets(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'string') {
    if (JWT.test(value)) return MASK;
    return PHONE_NUMBER.test(value) ? shortenNumber(value) : value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, field]) => [
        name,
        isSecretField(name) && field !== '' && field !== undefined ? MASK : maskSecrets(field),
      ]),
    );
  }
  return value;
}

/** The request as JSON with secrets masked, cut to SUMMARY_LIMIT_BYTES (the cut says how long it was). */
export function auditSummary(request: unknown): string {
  const json = JSON.stringify(maskSecrets(request ?? {}));
  const bytes = Buffer.byteLength(json);
  if (bytes <= SUMMARY_LIMIT_BYTES) return json;
  const marker = `…(cut, ${bytes} bytes)`;
  let budget = SUMMARY_LIMIT_BYTES - Buffer.byteLength(marker);
  let kept = '';
  // By code point, so a character is never split.
  for (const character of json) {
    budget -= Buffer.byteLength(character);
    if (budget < 0) break;
    kept += character;
  }
  return kept + marker;
}

/** `UpdateDepartment` whether the server reports `updateDepartment`, `UpdateDepartment` or a path. */
function methodName(method: string): string {
  const last = method.split('/').at(-1) ?? method;
  return last.charAt(0).toUpperCase() + last.slice(1);
}

/** The event for one change; the entry's id is the event id (the de-duplication key). */
export function auditEvent(producer: string, change: AuditedChange, at = new Date()): auditEventsV1.AuditRecorded {
  const meta = newEventMeta(change.tenantId, producer, at);
  return {
    meta,
    entry: {
      entryId: meta.eventId,
      tenantId: change.tenantId,
      at,
      subject: change.principal.subject,
      role: change.principal.role,
      service: producer,
      method: methodName(change.method),
      summary: auditSummary(change.request),
    },
  };
}

let failures: Counter | undefined;

export interface AuditRecorderOptions {
  /** The service's name (`directory`, `rating`): the entry's `service`. */
  producer: string;
  /** Publishes on `sb.<tenant>.audit.recorded`; undefined when the service has no NATS connection. */
  publish: ((event: auditEventsV1.AuditRecorded) => Promise<PubAck>) | undefined;
  logger: Logger;
  /** Lets shutdown wait for entries still being published. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** Publish attempts (the same event id each time, so the stream stores it once) and the first back-off. */
  attempts?: number;
  initialDelayMs?: number;
}

/**
 * What the kit passes to GrpcServer as `onAudited`: publishes the change as an audit entry,
 * retrying with back-off. An entry that still cannot be published is logged in full (message
 * `audit entry not published`, field `auditEntry`) and counted in `audit.publish.failures`.
 */
export function createAuditRecorder(options: AuditRecorderOptions): (change: AuditedChange) => void {
  const { producer, publish, logger } = options;
  const policy = retry(
    handleWhen((error) => !(error instanceof SubjectError)),
    {
      maxAttempts: (options.attempts ?? 5) - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 200, maxDelay: 5_000 }),
    },
  );
  const record = async (change: AuditedChange) => {
    const event = auditEvent(producer, change);
    try {
      if (!publish) throw new Error(`${producer} has no NATS connection to publish audit entries on`);
      await policy.execute(() => publish(event));
    } catch (error) {
      const entry = event.entry!;
      failures ??= metrics.getMeter('@switchboard/service-kit').createCounter('audit.publish.failures', {
        description: 'Audit entries a service could not publish after its retries (logged in full instead).',
        unit: '{entry}',
      });
      failures.add(1, { tenant: entry.tenantId, method: entry.method });
      logger.error({ err: error, auditEntry: auditV1.AuditEntry.toJSON(entry) }, 'audit entry not published');
    }
  };
  return (change) => {
    const work = record(change);
    void (options.track ? options.track(work) : work);
  };
}
