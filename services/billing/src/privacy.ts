import { metrics, type Counter } from '@opentelemetry/api';
import { sameNumber } from '@switchboard/numbering';
import {
  PRIVACY_SHORTENED_METRIC,
  tenantRetentionCutoff,
  type DirectoryRpcClient,
  type ErasedCount,
} from '@switchboard/rpc-clients';
import type { Logger } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import type { RatedLegStore } from './rated-legs.js';
import { ROLLUPS } from './rollups.js';

// Data protection for billing's copy of the rated legs (current_legs and the replaced versions
// in rated_legs): a destination (the citizen's number on an inbound leg, the called number on an
// outbound one) is kept whole for the tenant's retention days, then shortened. Invoices, roll-ups
// and every amount stay as they are: only the number changes. The CSV export shows what is stored.

/** `<tenant>`: legs that started before `before` have been shortened (so the next sweep starts there). */
interface SweepMark {
  _id: string;
  before: Date;
}

const MARKS = 'privacy_sweeps';
const KIND = 'billed-leg';

export class BillingPrivacy {
  private readonly counter: Counter;
  private readonly marks: Collection<SweepMark>;
  private readonly rollups: Collection<{ tenantId: string }>;

  constructor(
    db: Db,
    private readonly legs: RatedLegStore,
    private readonly directory: Pick<DirectoryRpcClient, 'exportTenant'>,
    private readonly logger: Logger,
  ) {
    this.marks = db.collection<SweepMark>(MARKS);
    this.rollups = db.collection(ROLLUPS);
    this.counter = metrics.getMeter('@switchboard/billing').createCounter(PRIVACY_SHORTENED_METRIC.name, {
      description: PRIVACY_SHORTENED_METRIC.description,
      unit: PRIVACY_SHORTENED_METRIC.unit,
    });
  }

  /**
   * Shortens the legs of each tenant that started between its mark and its retention cutoff, then
   * moves the mark to the cutoff (the legs carry no index to find due ones by: the mark keeps each
   * sweep to the legs that became due since the last). A leg a rerating replaced meanwhile keeps
   * the mark where it was, so the next sweep looks at it again.
   */
  async sweep(now: Date): Promise<number> {
    let total = 0;
    for (const tenantId of await this.rollups.distinct('tenantId')) {
      const cutoff = await tenantRetentionCutoff(this.directory, tenantId, now, this.logger, 'its legs wait');
      if (!cutoff) continue;
      const mark = await this.marks.findOne({ _id: tenantId });
      if (mark && mark.before >= cutoff) continue;
      const { shortened, missed } = await this.legs.shortenNumbers(
        { tenantId, ...(mark ? { from: mark.before } : {}), before: cutoff },
        () => true,
      );
      if (shortened > 0) this.counter.add(shortened, { tenant: tenantId, kind: KIND, reason: 'retention' });
      total += shortened;
      if (missed === 0) await this.marks.updateOne({ _id: tenantId }, { $set: { before: cutoff } }, { upsert: true });
    }
    if (total > 0) this.logger.info({ legs: total }, 'retention shortened the numbers of billed legs');
    return total;
  }

  /** Shortens `number` (E.164) in every stored leg of the tenant, whatever its age or version. */
  async erase(tenantId: string, number: string): Promise<ErasedCount[]> {
    let count = 0;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { shortened, missed } = await this.legs.shortenNumbers({ tenantId }, (leg) =>
        sameNumber(leg.destination, number),
      );
      count += shortened;
      if (missed === 0) {
        if (count > 0) this.counter.add(count, { tenant: tenantId, kind: KIND, reason: 'erase' });
        return [{ kind: KIND, count }];
      }
    }
    throw new Error('legs kept changing while the number was erased; erase again');
  }
}
