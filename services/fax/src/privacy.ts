import { metrics, type Counter } from '@opentelemetry/api';
import { isShortened, sameNumber, shortenNumber } from '@switchboard/numbering';
import {
  PRIVACY_SHORTENED_METRIC,
  tenantRetentionCutoff,
  type DirectoryRpcClient,
  type ErasedCount,
} from '@switchboard/rpc-clients';
import type { Logger } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import type { FaxStore } from './fax-store.js';
import { RETENTION_LOG, type RetentionLogEntry } from './retention.js';
import type { VoicemailStore } from './voicemail-store.js';

// Data protection for the inboxes: the caller's number of a fax or voicemail (and a fax's station
// id, usually the sender's number) is kept whole for the tenant's retention days (the directory's
// privacy.retention_days, default 90), then shortened in the record, its files' metadata and the
// retention log. The fax settings' own retention still deletes whole faxes and voicemails.

interface Shortenable {
  kind: string;
  shorten(tenantId: string, receivedBefore: Date | undefined, due: (value: string) => boolean): Promise<number>;
}

export class FaxPrivacy {
  private readonly counter: Counter;
  private readonly log: Collection<RetentionLogEntry>;
  private readonly kinds: readonly Shortenable[];

  constructor(
    db: Db,
    private readonly faxes: FaxStore,
    private readonly voicemails: VoicemailStore,
    private readonly directory: Pick<DirectoryRpcClient, 'exportTenant'>,
    private readonly logger: Logger,
  ) {
    this.log = db.collection<RetentionLogEntry>(RETENTION_LOG);
    this.counter = metrics.getMeter('@switchboard/fax').createCounter(PRIVACY_SHORTENED_METRIC.name, {
      description: PRIVACY_SHORTENED_METRIC.description,
      unit: PRIVACY_SHORTENED_METRIC.unit,
    });
    this.kinds = [
      { kind: 'fax', shorten: (...args) => faxes.shortenNumbers(...args) },
      { kind: 'voicemail', shorten: (...args) => voicemails.shortenNumbers(...args) },
      { kind: 'retention-log', shorten: (...args) => this.shortenLog(...args) },
    ];
  }

  private async tenants(): Promise<string[]> {
    const [faxes, voicemails, logged] = await Promise.all([
      this.faxes.tenants(),
      this.voicemails.tenants(),
      this.log.distinct('tenantId'),
    ]);
    return [...new Set([...faxes, ...voicemails, ...logged])];
  }

  /** Shortens what each tenant received before its retention cutoff. */
  async sweep(now: Date): Promise<number> {
    let total = 0;
    for (const tenantId of await this.tenants()) {
      const cutoff = await tenantRetentionCutoff(this.directory, tenantId, now, this.logger, 'its inbox waits');
      if (!cutoff) continue;
      for (const { kind, shorten } of this.kinds) {
        const count = await shorten(tenantId, cutoff, () => true);
        if (count > 0) this.counter.add(count, { tenant: tenantId, kind, reason: 'retention' });
        total += count;
      }
    }
    if (total > 0) this.logger.info({ records: total }, 'retention shortened the numbers of faxes and voicemails');
    return total;
  }

  /** Shortens `number` (E.164) wherever the tenant's inboxes and retention log hold it. */
  async erase(tenantId: string, number: string): Promise<ErasedCount[]> {
    const changes: ErasedCount[] = [];
    for (const { kind, shorten } of this.kinds) {
      const count = await shorten(tenantId, undefined, (value) => sameNumber(value, number));
      if (count > 0) this.counter.add(count, { tenant: tenantId, kind, reason: 'erase' });
      changes.push({ kind, count });
    }
    return changes;
  }

  /** The log of what retention deleted keeps the caller's number; it follows the same rule. */
  private async shortenLog(
    tenantId: string,
    receivedBefore: Date | undefined,
    due: (value: string) => boolean,
  ): Promise<number> {
    let changed = 0;
    const where = { tenantId, ...(receivedBefore ? { receivedAt: { $lt: receivedBefore } } : {}) };
    for await (const entry of this.log.find(where)) {
      if (isShortened(entry.callerNumber) || !due(entry.callerNumber)) continue;
      await this.log.updateOne({ _id: entry._id }, { $set: { callerNumber: shortenNumber(entry.callerNumber) } });
      changed += 1;
    }
    return changed;
  }
}
