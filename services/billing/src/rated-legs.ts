import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import { MongoBulkWriteError, type Collection, type Db, type FindCursor } from 'mongodb';
import type { ChargeSum, CorrectionRow, UsageRow } from './invoice.js';
import { addContribution, contributionOf, emptyContribution, type LegContribution } from './sums.js';

/** A rated leg as billing stores it: every version in `rated_legs`, the highest in `current_legs`. */
export interface StoredLeg {
  tenantId: string;
  callId: string;
  legId: string;
  ratingVersion: number;
  siteId: string;
  startedAt: Date;
  billingMonth: string;
  destination: string;
  destinationClass: string;
  durationSeconds: number;
  billedSeconds: number;
  pool: string;
  bundleSeconds: number;
  overageSeconds: number;
  /** 1/10,000 EUR. */
  connectionFee: number;
  amount: number;
  tariffId: string;
  tariffVersion: number;
  /**
   * What amount without the connection fee is made of, per price per minute (RatedLeg.charges);
   * absent on legs stored before rating sent it (see `legCharges`).
   */
  charges?: ChargeSum[];
  /** The call's W3C trace context; absent on legs stored before it was recorded. */
  traceparent?: string;
  /** When billing stored this version: decides which invoice it lands on. */
  receivedAt: Date;
}

export const RATED_LEGS = 'rated_legs';
export const CURRENT_LEGS = 'current_legs';

// Uniqueness is the `_id` (tenant, call, leg[, version]): FerretDB answers `_id` look-ups from
// its primary key, where other filters scan the collection, so the per-leg writes stay cheap.
export const ratedLegIndexes: readonly IndexDeclaration[] = [
  { collection: RATED_LEGS, key: { tenantId: 1, receivedAt: 1 }, options: { name: 'tenant_received' } },
  {
    collection: CURRENT_LEGS,
    key: { tenantId: 1, billingMonth: 1, receivedAt: 1 },
    options: { name: 'tenant_month_received' },
  },
];

/**
 * `usageKey` is the (site, class, pool) a leg's usage is summed under at month close.
 */
type LegDocument = StoredLeg & { _id: string; usageKey: string };

const usageKey = (leg: Pick<StoredLeg, 'siteId' | 'destinationClass' | 'pool'>) =>
  [leg.siteId, leg.destinationClass, leg.pool].map(encodeURIComponent).join('|');

const legKey = (leg: Pick<StoredLeg, 'tenantId' | 'callId' | 'legId'>) =>
  [leg.tenantId, leg.callId, leg.legId].map(encodeURIComponent).join('|');
const versionKey = (leg: Pick<StoredLeg, 'tenantId' | 'callId' | 'legId'>, version: number) =>
  `${legKey(leg)}|${version}`;

export class RatedLegStore {
  private readonly versions: Collection<LegDocument>;
  private readonly current: Collection<LegDocument>;

  constructor(db: Db) {
    this.versions = db.collection<LegDocument>(RATED_LEGS);
    this.current = db.collection<LegDocument>(CURRENT_LEGS);
  }

  /**
   * Stores rated leg versions. Idempotent: a version stored before is left as it was (its first
   * receivedAt stands), and `current_legs` only ever moves to a higher version. Writes are
   * unordered bulk inserts by `_id`; only a rerating updates, with a compare-and-set on the
   * version it replaces. Returns how many versions were new.
   */
  async record(legs: readonly StoredLeg[]): Promise<number> {
    if (legs.length === 0) return 0;
    const documents = legs.map((leg) => ({ ...leg, _id: versionKey(leg, leg.ratingVersion), usageKey: usageKey(leg) }));
    const duplicates = await insertAll(this.versions, documents);
    // Also for duplicates: the delivery that stored a version may have died before this step,
    // and its current entry must carry the version as first stored.
    // (Read one by one: FerretDB answers `_id` equality from its key, but scans for `$in`.)
    const current: LegDocument[] = [];
    for (const [index, document] of documents.entries()) {
      const stored = duplicates.has(index) ? await this.versions.findOne({ _id: document._id }) : undefined;
      current.push({ ...(stored ?? document), _id: legKey(document) });
    }
    const clashes = await insertAll(this.current, current);
    for (const index of [...clashes].sort((a, b) => a - b)) {
      const document = current[index];
      if (document) await this.makeCurrent(document);
    }
    return legs.length - duplicates.size;
  }

  /** After an insert clashed: replaces the current entry when it holds a lower version. */
  private async makeCurrent(leg: LegDocument): Promise<void> {
    for (;;) {
      const current = await this.current.findOne({ _id: leg._id }, { projection: { ratingVersion: 1 } });
      if (!current) {
        try {
          await withTypedErrors(this.current, (c) => c.insertOne(leg));
          return;
        } catch (error) {
          if (!(error instanceof DuplicateKeyError)) throw error;
          continue;
        }
      }
      if (current.ratingVersion >= leg.ratingVersion) return;
      const replaced = await this.current.replaceOne({ _id: leg._id, ratingVersion: current.ratingVersion }, leg);
      if (replaced.matchedCount === 1) return;
    }
  }

  /**
   * The month's usage per site, class and pool as it stood at `cutoff`: current versions stored
   * by then, aggregated in the database, plus, for the few legs rerated after the cutoff, the
   * version that was current at it.
   */
  async usageAt(tenantId: string, month: string, cutoff: Date): Promise<{ rows: UsageRow[]; legs: number }> {
    const sums = new Map<string, UsageRow>();
    let legs = 0;
    const add = (leg: LegDocument | StoredLeg) => {
      legs += 1;
      const key = 'usageKey' in leg ? leg.usageKey : usageKey(leg);
      let sum = sums.get(key);
      if (!sum) {
        sum = { siteId: leg.siteId, destinationClass: leg.destinationClass, pool: leg.pool, ...emptyContribution() };
        sums.set(key, sum);
      }
      addContribution(sum, contributionOf(leg), 1);
    };
    // One scan of the month, streamed with a small projection and summed here: constant memory,
    // and correct on FerretDB v1, whose $group fills only its first accumulator (the rest are 0).
    const cursor = this.current.find(
      { tenantId, billingMonth: month },
      {
        projection: {
          usageKey: 1,
          siteId: 1,
          destinationClass: 1,
          pool: 1,
          amount: 1,
          connectionFee: 1,
          charges: 1,
          billedSeconds: 1,
          bundleSeconds: 1,
          overageSeconds: 1,
          receivedAt: 1,
          ratingVersion: 1,
        },
        batchSize: 10_000,
      },
    );
    for await (const leg of cursor) {
      if (leg.receivedAt.getTime() <= cutoff.getTime()) {
        add(leg);
        continue;
      }
      // Stored or rerated after the cutoff: bill the version that was current at the cutoff, if any.
      const before = latestBy(await this.history(leg._id, leg.ratingVersion - 1), cutoff);
      if (before) add(before);
    }
    return { rows: [...sums.values()], legs };
  }

  /**
   * What changed, between two cutoffs, in months up to `lastInvoicedMonth`: legs that arrived
   * late and reratings, each as the difference between its amount at `to` and at `from`.
   */
  async correctionsBetween(
    tenantId: string,
    lastInvoicedMonth: string,
    from: Date,
    to: Date,
  ): Promise<CorrectionRow[]> {
    const changed = await this.versions
      .find(
        { tenantId, billingMonth: { $lte: lastInvoicedMonth }, receivedAt: { $gt: from, $lte: to } },
        { projection: { callId: 1, legId: 1, ratingVersion: 1 } },
      )
      .toArray();
    const newest = new Map<string, { callId: string; legId: string; ratingVersion: number }>();
    for (const version of changed) {
      const id = legKey({ tenantId, callId: version.callId, legId: version.legId });
      if ((newest.get(id)?.ratingVersion ?? 0) < version.ratingVersion) newest.set(id, version);
    }
    const rows = new Map<string, CorrectionRow & LegContribution>();
    const add = (leg: StoredLeg, reason: CorrectionRow['reason'], sign: 1 | -1) => {
      const key = [leg.billingMonth, leg.siteId, leg.destinationClass, reason].join('\u0000');
      let row = rows.get(key);
      if (!row) {
        row = {
          month: leg.billingMonth,
          siteId: leg.siteId,
          destinationClass: leg.destinationClass,
          reason,
          ...emptyContribution(),
        };
        rows.set(key, row);
      }
      const contribution = contributionOf(leg);
      addContribution(row, { ...contribution, bundleSeconds: 0, overageSeconds: 0, legs: 0 }, sign);
      return row;
    };
    for (const { callId, legId, ratingVersion } of newest.values()) {
      const history = await this.history(legKey({ tenantId, callId, legId }), ratingVersion);
      const now = latestBy(history, to);
      if (!now) continue;
      const invoiced = latestBy(history, from);
      if (invoiced?.ratingVersion === now.ratingVersion) continue;
      // The version invoiced comes off where it was billed, the new one goes on where it belongs
      // now (the same row unless the rerating moved the leg to another site or class).
      const reason = invoiced ? 'rerated' : 'late';
      if (invoiced) add(invoiced, reason, -1);
      add(now, reason, 1).legs += 1;
    }
    return [...rows.values()]
      .filter(
        (row) => row.amount !== 0 || row.billedSeconds !== 0 || row.charges.length > 0 || row.connectionFees.length > 0,
      )
      .map(({ month, siteId, destinationClass, reason, amount, billedSeconds, charges, connectionFees, legs }) => ({
        month,
        siteId,
        destinationClass,
        reason,
        amount,
        billedSeconds,
        charges,
        connectionFees,
        legs,
      }));
  }

  /** The month's legs in their current version, by start time, streamed from the database. */
  exportMonth(tenantId: string, month: string): FindCursor<StoredLeg> {
    return this.current
      .find({ tenantId, billingMonth: month }, { projection: { _id: 0 } })
      .sort({ startedAt: 1, callId: 1, legId: 1 });
  }

  /** Versions 1..`upTo` of a leg (by its `legKey`), read by `_id`; missing versions are skipped. */
  private async history(leg: string, upTo: number): Promise<StoredLeg[]> {
    const found: StoredLeg[] = [];
    for (let version = upTo; version >= 1; version -= 1) {
      const stored = await this.versions.findOne({ _id: `${leg}|${version}` });
      if (stored) found.push(stored);
    }
    return found;
  }
}

const DUPLICATE_KEY = 11000;

/** Inserts what is new; returns the indexes of documents whose `_id` existed already. */
async function insertAll(collection: Collection<LegDocument>, documents: LegDocument[]): Promise<Set<number>> {
  try {
    await collection.insertMany(documents, { ordered: false });
    return new Set();
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    const other = errors.find((entry) => entry.code !== DUPLICATE_KEY);
    if (other)
      throw new Error(`storing rated legs in ${collection.collectionName} failed: ${other.errmsg}`, { cause: error });
    return new Set(errors.map((entry) => entry.index));
  }
}

/** The highest version stored at or before `instant`. */
function latestBy(history: readonly StoredLeg[], instant: Date): StoredLeg | undefined {
  let best: StoredLeg | undefined;
  for (const version of history) {
    if (version.receivedAt.getTime() > instant.getTime()) continue;
    if (!best || version.ratingVersion > best.ratingVersion) best = version;
  }
  return best;
}
