import { allTenantsSubject } from './subjects.js';

/** A JetStream stream declared as code; service-kit creates or updates it at start. */
export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly description: string;
  /** How long messages are kept. */
  readonly maxAgeMs: number;
  /** Window in which a repeated `Nats-Msg-Id` is stored only once. */
  readonly duplicateWindowMs: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const CALLS_STREAM: StreamDefinition = {
  name: 'CALLS',
  subjects: [allTenantsSubject('call')],
  description: 'Call events from the ARI adapters (started, dtmf, leg updates, ended).',
  maxAgeMs: 14 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

export const FAX_STREAM: StreamDefinition = {
  name: 'FAX',
  subjects: [allTenantsSubject('fax'), allTenantsSubject('voicemail')],
  description: 'Fax receptions and recorded voicemails reported by the ARI adapters.',
  maxAgeMs: 30 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/** Rated legs (and their reratings) from rating, for billing and exports. */
export const CDRS_STREAM: StreamDefinition = {
  name: 'CDRS',
  subjects: [allTenantsSubject('cdr')],
  description: 'Rated call legs, one message per leg and rating version.',
  maxAgeMs: 400 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/** Issued invoices from billing. */
export const INVOICES_STREAM: StreamDefinition = {
  name: 'INVOICES',
  subjects: [allTenantsSubject('invoice')],
  description: 'Invoices issued by billing, one message per closed tenant month.',
  maxAgeMs: 400 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/** Menu changes of the ivr service, so its replicas refresh their in-memory menus. */
export const IVR_STREAM: StreamDefinition = {
  name: 'IVR',
  subjects: [allTenantsSubject('ivr', 'menu_changed')],
  description: 'IVR menu changes (menu_changed), one message per saved revision.',
  maxAgeMs: 7 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/** Directory change events; only the `*_changed` subjects, so `sb.*.directory.rpc.*` requests stay core NATS. */
export const DIRECTORY_STREAM: StreamDefinition = {
  name: 'DIRECTORY',
  subjects: ['tenant', 'site', 'number', 'department', 'staff'].map((entity) =>
    allTenantsSubject('directory', `${entity}_changed`),
  ),
  description: 'Directory changes (tenants, sites, numbers, departments, staff) for cache refreshes.',
  maxAgeMs: 7 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/**
 * Audit entries: every change made through an admin API, published by the service that made it;
 * the directory stores them (append-only). Kept a month so a directory outage loses none.
 */
export const AUDIT_STREAM: StreamDefinition = {
  name: 'AUDIT',
  subjects: [allTenantsSubject('audit', 'recorded')],
  description: 'Changes made through the admin APIs (audit.recorded), for the audit log the directory keeps.',
  maxAgeMs: 30 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

/** Poison messages parked by any consumer, kept for an operator to inspect and replay. */
export const DLQ_STREAM: StreamDefinition = {
  name: 'DLQ',
  subjects: [allTenantsSubject('dlq')],
  description: 'Messages a consumer could not process after its last delivery.',
  maxAgeMs: 90 * DAY,
  duplicateWindowMs: 10 * MINUTE,
};

export const STREAMS: readonly StreamDefinition[] = [
  CALLS_STREAM,
  FAX_STREAM,
  CDRS_STREAM,
  INVOICES_STREAM,
  IVR_STREAM,
  DIRECTORY_STREAM,
  AUDIT_STREAM,
  DLQ_STREAM,
];

/** JetStream object store bucket where adapters put received fax documents (TIFF). */
export const FAX_INBOX_BUCKET = 'fax-inbox';

/** JetStream object store bucket where adapters put recorded voicemails (WAV). */
export const VOICEMAIL_INBOX_BUCKET = 'voicemail-inbox';
