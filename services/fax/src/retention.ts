import type { IndexDeclaration, Logger } from '@switchboard/service-kit';
import type { faxServiceV1 } from '@switchboard/proto';
import type { Collection, Db } from 'mongodb';
import type { FaxSettingsStore } from './fax-settings.js';
import type { FaxStore } from './fax-store.js';
import type { FaxMetrics } from './metrics.js';

/** What retention deleted: kept after the fax itself is gone, as the log of what was. */
export interface RetentionLogEntry {
  _id: string;
  tenantId: string;
  faxId: string;
  dialedNumber: string;
  callerNumber: string;
  pages: number;
  status: faxServiceV1.FaxStatus;
  receivedAt: Date;
  deletedAt: Date;
  retentionDays: number;
}

const LOG = 'fax_retention_log';
export const RETENTION_INDEXES: readonly IndexDeclaration[] = [
  { collection: LOG, key: { tenantId: 1, deletedAt: -1 }, options: { name: 'tenant_deleted' } },
];

const DAY_MS = 24 * 60 * 60 * 1_000;
const BATCH = 200;

export class Retention {
  private readonly log: Collection<RetentionLogEntry>;

  constructor(
    db: Db,
    private readonly store: FaxStore,
    private readonly settings: FaxSettingsStore,
    private readonly metrics: FaxMetrics,
    private readonly logger: Logger,
  ) {
    this.log = db.collection<RetentionLogEntry>(LOG);
  }

  /**
   * Deletes every fax received more than its tenant's retention days before `now`, documents
   * included. The log entry is written first (keyed by fax id), so a sweep cut short and run
   * again neither loses nor doubles an entry. Returns how many faxes were deleted.
   */
  async sweep(now: Date = new Date()): Promise<number> {
    let deleted = 0;
    for (const tenantId of await this.store.tenants()) {
      const { retentionDays } = await this.settings.get(tenantId);
      const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
      for (;;) {
        const expired = await this.store.receivedBefore(tenantId, cutoff, BATCH);
        if (expired.length === 0) break;
        for (const fax of expired) {
          await this.log.replaceOne(
            { _id: fax._id },
            {
              tenantId,
              faxId: fax._id,
              dialedNumber: fax.dialedNumber,
              callerNumber: fax.callerNumber,
              pages: fax.pages,
              status: fax.status,
              receivedAt: fax.receivedAt,
              deletedAt: now,
              retentionDays,
            },
            { upsert: true },
          );
          await this.store.delete(fax);
          deleted += 1;
          this.metrics.retentionDeleted.add(1);
          this.logger.info(
            { faxId: fax._id, tenantId, receivedAt: fax.receivedAt, retentionDays },
            'fax deleted by retention',
          );
        }
      }
    }
    return deleted;
  }

  entries(tenantId: string, limit: number): Promise<RetentionLogEntry[]> {
    return this.log.find({ tenantId }).sort({ deletedAt: -1, _id: 1 }).limit(limit).toArray();
  }
}
