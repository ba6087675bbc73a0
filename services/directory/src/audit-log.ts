import { AUDIT_STREAM, AuditEvents, allTenantsSubject } from '@switchboard/events';
import type { auditV1 } from '@switchboard/proto';
import {
  DuplicateKeyError,
  PoisonMessageError,
  withTypedErrors,
  type ConsumerOptions,
  type IndexDeclaration,
} from '@switchboard/service-kit';
import type { Collection, Db, Filter } from 'mongodb';
import { ValidationError } from './model.js';

// The audit log: every change made through an admin API of any service, one row per entry, keyed
// by the entry id (the event id) so a redelivered event is stored once. Append-only: this module
// inserts and reads; nothing updates or deletes a row, not even deleting the tenant.

const COLLECTION = 'directory_audit_entries';

interface AuditRow {
  /** The entry id. */
  _id: string;
  tenantId: string;
  at: Date;
  subject: string;
  role: string;
  service: string;
  method: string;
  summary: string;
}

export const AUDIT_INDEXES: IndexDeclaration[] = [
  // Listing newest first per tenant; the id breaks ties of one instant (the page token's key).
  { collection: COLLECTION, key: { tenantId: 1, at: -1, _id: -1 }, options: { name: 'tenant_at' } },
];

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

export interface AuditQuery {
  tenantId: string;
  since?: Date | undefined;
  until?: Date | undefined;
  service?: string;
  subject?: string;
  /** 0 means DEFAULT_PAGE_SIZE; more than MAX_PAGE_SIZE is MAX_PAGE_SIZE. */
  pageSize: number;
  pageToken: string;
}

/** Where the previous page ended: the last entry's time and id, opaque to clients. */
interface Cursor {
  at: number;
  id: string;
}

function encodeCursor(row: AuditRow): string {
  return Buffer.from(JSON.stringify({ at: row.at.getTime(), id: row._id } satisfies Cursor)).toString('base64url');
}

function decodeCursor(token: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    const valid = Number.isSafeInteger(cursor.at) && !Number.isNaN(new Date(cursor.at!).getTime());
    if (valid && typeof cursor.id === 'string' && cursor.id) return cursor as Cursor;
  } catch {
    // Reported below like any other token that is not one of ours.
  }
  throw new ValidationError(['page_token: is not a token of this list (pass next_page_token unchanged)']);
}

function toEntry(row: AuditRow): auditV1.AuditEntry {
  return {
    entryId: row._id,
    tenantId: row.tenantId,
    at: row.at,
    subject: row.subject,
    role: row.role,
    service: row.service,
    method: row.method,
    summary: row.summary,
  };
}

/** An audit entry as it appears in a tenant export. */
export interface ExportedAuditEntry {
  entryId: string;
  at: string;
  subject: string;
  role: string;
  service: string;
  method: string;
  summary: string;
}

export class AuditLog {
  private readonly rows: Collection<AuditRow>;

  constructor(db: Db) {
    this.rows = db.collection<AuditRow>(COLLECTION);
  }

  /** Stores an entry once; false when it was stored before (a redelivery). */
  async record(entry: auditV1.AuditEntry & { at: Date }): Promise<boolean> {
    const row: AuditRow = {
      _id: entry.entryId,
      tenantId: entry.tenantId,
      at: entry.at,
      subject: entry.subject,
      role: entry.role,
      service: entry.service,
      method: entry.method,
      summary: entry.summary,
    };
    try {
      await withTypedErrors(this.rows, (rows) => rows.insertOne(row));
      return true;
    } catch (error) {
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }

  /** One page, newest first, and the token of the next page ('' after the last). */
  async list(query: AuditQuery): Promise<{ entries: auditV1.AuditEntry[]; nextPageToken: string }> {
    if (query.pageSize < 0) throw new ValidationError(['page_size: must not be negative']);
    for (const [field, value] of [
      ['since', query.since],
      ['until', query.until],
    ] as const) {
      if (value && Number.isNaN(value.getTime())) throw new ValidationError([`${field}: is not a time`]);
    }
    if (query.since && query.until && query.since >= query.until) {
      throw new ValidationError(['since: must be before until']);
    }
    const limit = Math.min(query.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const filter: Filter<AuditRow> = { tenantId: query.tenantId };
    const at: { $gte?: Date; $lt?: Date } = {};
    if (query.since) at.$gte = query.since;
    if (query.until) at.$lt = query.until;
    if (at.$gte || at.$lt) filter.at = at;
    if (query.service) filter.service = query.service;
    if (query.subject) filter.subject = query.subject;
    if (query.pageToken) {
      const cursor = decodeCursor(query.pageToken);
      const after = new Date(cursor.at);
      filter.$or = [{ at: { $lt: after } }, { at: after, _id: { $lt: cursor.id } }];
    }
    // One more than the page: whether another page follows without a second query.
    const rows = await this.rows
      .find(filter)
      .sort({ at: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    return {
      entries: page.map(toEntry),
      nextPageToken: rows.length > limit ? encodeCursor(page.at(-1)!) : '',
    };
  }

  /** Every entry of the tenant, oldest first, for the tenant export. */
  async exportTenant(tenantId: string): Promise<ExportedAuditEntry[]> {
    const rows = await this.rows.find({ tenantId }).sort({ at: 1, _id: 1 }).toArray();
    return rows.map((row) => ({
      entryId: row._id,
      at: row.at.toISOString(),
      subject: row.subject,
      role: row.role,
      service: row.service,
      method: row.method,
      summary: row.summary,
    }));
  }
}

/**
 * Stores every service's audit entries (stream AUDIT). Redelivery is harmless: the entry id is
 * the row's key. An event whose entry does not match its envelope is parked, not stored.
 */
export function auditConsumer(log: AuditLog): ConsumerOptions {
  return {
    stream: AUDIT_STREAM,
    durable: 'directory-audit',
    filterSubjects: [allTenantsSubject(AuditEvents.recorded.domain, AuditEvents.recorded.event)],
    concurrency: 4,
    handler: async (message) => {
      const { meta, entry } = message.decode(AuditEvents.recorded);
      if (!entry?.at || Number.isNaN(entry.at.getTime())) throw new PoisonMessageError('audit entry has no valid time');
      if (entry.entryId !== meta?.eventId || entry.tenantId !== meta.tenantId) {
        throw new PoisonMessageError('audit entry does not carry its event id and tenant as its own');
      }
      await log.record({ ...entry, at: entry.at });
    },
  };
}
