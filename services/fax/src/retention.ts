import type { IndexDeclaration, Logger } from '@switchboard/service-kit';
import { faxServiceV1 } from '@switchboard/proto';
import type { Collection, Db } from 'mongodb';
import type { FaxSettingsStore } from './fax-settings.js';
import type { FaxStore } from './fax-store.js';
import type { FaxMetrics, VoicemailMetrics } from './metrics.js';
import type { VoicemailStore } from './voicemail-store.js';

/**
 * What retention deleted: kept after the fax or voicemail itself is gone, as the log of what was.
 * A fax has `faxId` and `status`; a voicemail `voicemailId`, `durationSeconds` and `voicemailStatus`
 * (entries written before voicemails existed have only the fax fields).
 */
export interface RetentionLogEntry {
  _id: string;
  tenantId: string;
  faxId: string;
  voicemailId?: string;
  dialedNumber: string;
  callerNumber: string;
  pages: number;
  durationSeconds?: number;
  status: faxServiceV1.FaxStatus;
  voicemailStatus?: faxServiceV1.VoicemailStatus;
  receivedAt: Date;
  deletedAt: Date;
  retentionDays: number;
}

export const RETENTION_LOG = 'fax_retention_log';
export const RETENTION_INDEXES: readonly IndexDeclaration[] = [
  { collection: RETENTION_LOG, key: { tenantId: 1, deletedAt: -1 }, options: { name: 'tenant_deleted' } },
];

const DAY_MS = 24 * 60 * 60 * 1_000;
const BATCH = 200;

export interface RetentionDependencies {
  faxes: FaxStore;
  voicemails: VoicemailStore;
  settings: FaxSettingsStore;
  faxMetrics: FaxMetrics;
  voicemailMetrics: VoicemailMetrics;
  logger: Logger;
}

type LogFields = Omit<RetentionLogEntry, '_id' | 'tenantId' | 'receivedAt' | 'deletedAt' | 'retentionDays'>;

interface Expired {
  id: string;
  receivedAt: Date;
  logFields: LogFields;
  delete(): Promise<void>;
}

/** One kind of inbox retention sweeps. */
interface SweptInbox {
  kind: 'fax' | 'voicemail';
  tenants(): Promise<string[]>;
  expired(tenantId: string, cutoff: Date, limit: number): Promise<Expired[]>;
  counter: FaxMetrics['retentionDeleted'];
}

/** Faxes and voicemails older than their tenant's retention days (the fax settings' `retentionDays`). */
export class Retention {
  private readonly log: Collection<RetentionLogEntry>;
  private readonly inboxes: readonly SweptInbox[];

  constructor(
    db: Db,
    private readonly deps: RetentionDependencies,
  ) {
    this.log = db.collection<RetentionLogEntry>(RETENTION_LOG);
    const { faxes, voicemails } = deps;
    this.inboxes = [
      {
        kind: 'fax',
        tenants: () => faxes.tenants(),
        expired: async (tenantId, cutoff, limit) =>
          (await faxes.receivedBefore(tenantId, cutoff, limit)).map((fax) => ({
            id: fax._id,
            receivedAt: fax.receivedAt,
            logFields: {
              faxId: fax._id,
              dialedNumber: fax.dialedNumber,
              callerNumber: fax.callerNumber,
              pages: fax.pages,
              status: fax.status,
            },
            delete: () => faxes.delete(fax),
          })),
        counter: deps.faxMetrics.retentionDeleted,
      },
      {
        kind: 'voicemail',
        tenants: () => voicemails.tenants(),
        expired: async (tenantId, cutoff, limit) =>
          (await voicemails.receivedBefore(tenantId, cutoff, limit)).map((voicemail) => ({
            id: voicemail._id,
            receivedAt: voicemail.receivedAt,
            logFields: {
              faxId: '',
              voicemailId: voicemail._id,
              dialedNumber: voicemail.dialedNumber,
              callerNumber: voicemail.callerNumber,
              pages: 0,
              durationSeconds: voicemail.durationSeconds,
              status: faxServiceV1.FaxStatus.FAX_STATUS_UNSPECIFIED,
              voicemailStatus: voicemail.status,
            },
            delete: () => voicemails.delete(voicemail),
          })),
        counter: deps.voicemailMetrics.retentionDeleted,
      },
    ];
  }

  /**
   * Deletes every fax and voicemail received more than its tenant's retention days before `now`,
   * documents and audio included. The log entry is written first (keyed by the record's id), so a
   * sweep cut short and run again neither loses nor doubles an entry. Returns how many were deleted.
   */
  async sweep(now: Date = new Date()): Promise<number> {
    let deleted = 0;
    for (const inbox of this.inboxes) {
      for (const tenantId of await inbox.tenants()) {
        const { retentionDays } = await this.deps.settings.get(tenantId);
        const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
        for (;;) {
          const expired = await inbox.expired(tenantId, cutoff, BATCH);
          if (expired.length === 0) break;
          for (const item of expired) {
            await this.log.replaceOne(
              { _id: item.id },
              { tenantId, ...item.logFields, receivedAt: item.receivedAt, deletedAt: now, retentionDays },
              { upsert: true },
            );
            await item.delete();
            deleted += 1;
            inbox.counter.add(1);
            this.deps.logger.info(
              { [`${inbox.kind}Id`]: item.id, tenantId, receivedAt: item.receivedAt, retentionDays },
              `${inbox.kind} deleted by retention`,
            );
          }
        }
      }
    }
    return deleted;
  }

  entries(tenantId: string, limit: number): Promise<RetentionLogEntry[]> {
    return this.log.find({ tenantId }).sort({ deletedAt: -1, _id: 1 }).limit(limit).toArray();
  }
}
