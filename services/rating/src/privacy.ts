import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { metrics, type Counter } from '@opentelemetry/api';
import { classifyNumber, isShortened, sameNumber, shortenNumber } from '@switchboard/numbering';
import {
  PRIVACY_SHORTENED_METRIC,
  tenantRetentionCutoff,
  type DirectoryRpcClient,
  type ErasedCount,
} from '@switchboard/rpc-clients';
import type { Logger } from '@switchboard/service-kit';
import { MongoServerError, type Collection, type Filter } from 'mongodb';
import { billingMonthOf } from './berlin-time.js';
import { decodeLegs, encodeLegs, type PageDoc, type RatedLegRecord, type Store } from './store.js';

// Data protection for rated legs: a citizen's number (the caller of an inbound leg, the called
// party of an outbound or forwarded one) is kept whole for the tenant's retention days, then the
// page holding the leg is rewritten with the number shortened (last three digits → xxx). Only the
// numbers change: seconds, amounts, pools, the links' totals and usage stay exactly as rated, and a
// rerate classifies such a leg by the class kept with it (`LegSource.numberClass`).

/** Pages rewritten per query; a page holds up to one batch's legs. */
const BATCH = 50;
/** Tries of one page's rewrite while other writers (a replica's sweep, an erase) change it too. */
const CAS_TRIES = 5;

const KIND = 'rated-leg';

/**
 * One rewriter of a tenant's pages at a time: a document `_id = <tenant>` in this collection,
 * inserted to take it (a unique `_id` is the one compare-and-set FerretDB keeps under concurrency;
 * its updates with a revision filter may both match) and deleted to give it back. Without it a
 * sweep that read a page before an erase rewrote it could write the erased number back.
 */
export const PRIVACY_LOCKS = 'rating_privacy_locks';
/** A lock older than this is a crashed holder's and is taken over. */
const LOCK_LEASE_MS = 10 * 60_000;
/** How long an erase waits for another replica's rewrite of the tenant (the directory waits 60 s). */
const LOCK_WAIT_MS = 45_000;
const DUPLICATE_KEY = 11_000;

interface PrivacyLock {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/** Whether the leg names a citizen: every rated leg but an internal one (two staff members). */
function namesCitizen(leg: RatedLegRecord): boolean {
  return leg.source.role !== 'internal' && !isShortened(leg.source.number);
}

/** The leg with its numbers shortened; what decides its class on a rerate is kept with it. */
function shortened(leg: RatedLegRecord): RatedLegRecord {
  const numberClass =
    leg.source.role === 'inbound'
      ? undefined
      : (leg.source.numberClass ?? classifyNumber(leg.source.number).destinationClass);
  const destination = shortenNumber(leg.destination);
  return {
    ...leg,
    destination,
    source: {
      ...leg.source,
      // An outbound leg's destination is its number normalised: a rerate gives the same destination again.
      number: leg.source.role === 'inbound' ? shortenNumber(leg.source.number) : destination,
      ...(numberClass ? { numberClass } : {}),
    },
  };
}

export class RatingPrivacy {
  private readonly counter: Counter;
  private readonly locks: Collection<PrivacyLock>;
  private readonly owner = randomUUID();

  constructor(
    private readonly store: Store,
    private readonly directory: Pick<DirectoryRpcClient, 'exportTenant'>,
    private readonly logger: Logger,
  ) {
    this.locks = store.pages.db.collection<PrivacyLock>(PRIVACY_LOCKS);
    this.counter = metrics.getMeter('@switchboard/rating').createCounter(PRIVACY_SHORTENED_METRIC.name, {
      description: PRIVACY_SHORTENED_METRIC.description,
      unit: PRIVACY_SHORTENED_METRIC.unit,
    });
  }

  /**
   * Shortens the numbers of legs that started before each tenant's retention cutoff. Only pages of
   * months up to the cutoff's month are read, and each page records the start of its earliest leg
   * still whole (`fullFrom`), so a page is read again only once that leg is due.
   */
  async sweep(now: Date): Promise<number> {
    let total = 0;
    for (const tenantId of await this.store.pages.distinct('tenantId')) {
      const cutoff = await tenantRetentionCutoff(this.directory, tenantId, now, this.logger, 'its legs wait');
      if (!cutoff) continue;
      const shortened = await this.ifTenantFree(tenantId, () => this.sweepTenant(tenantId, cutoff));
      // Another replica rewrites this tenant's pages right now; the next round looks again.
      if (shortened === undefined) continue;
      total += shortened;
    }
    if (total > 0) this.logger.info({ legs: total }, 'retention shortened the numbers of rated legs');
    return total;
  }

  private async sweepTenant(tenantId: string, cutoff: Date): Promise<number> {
    let total = 0;
    const due: Filter<PageDoc> = {
      tenantId,
      billingMonth: { $lte: billingMonthOf(cutoff) },
      $or: [{ fullFrom: { $exists: false } }, { fullFrom: { $lt: cutoff } }],
    };
    for (;;) {
      const pages = await this.store.pages.find(due).limit(BATCH).toArray();
      let rewritten = 0;
      for (const page of pages) {
        const result = await this.rewrite(page, (leg) => leg.startedAt < cutoff);
        if (result === undefined) continue;
        rewritten += 1;
        total += result;
        if (result > 0) this.counter.add(result, { tenant: tenantId, kind: KIND, reason: 'retention' });
      }
      // A page another writer changed meanwhile is left for the next round, so this loop ends.
      if (pages.length < BATCH || rewritten === 0) break;
    }
    return total;
  }

  /** Shortens `number` (E.164) in every rated leg of the tenant, whatever its age or rating version. */
  async erase(tenantId: string, number: string): Promise<ErasedCount[]> {
    const matches = (leg: RatedLegRecord) =>
      sameNumber(leg.source.number, number) || sameNumber(leg.destination, number);
    const count = await this.withTenantLock(tenantId, () => this.eraseTenant(tenantId, matches));
    if (count > 0) this.counter.add(count, { tenant: tenantId, kind: KIND, reason: 'erase' });
    return [{ kind: KIND, count }];
  }

  private async eraseTenant(tenantId: string, matches: (leg: RatedLegRecord) => boolean): Promise<number> {
    let count = 0;
    for await (const first of this.store.pages.find({ tenantId })) {
      let page: PageDoc | null = first;
      for (let attempt = 0; page && decodeLegs(page).some((leg) => namesCitizen(leg) && matches(leg)); attempt += 1) {
        if (attempt === CAS_TRIES) throw new Error(`page ${page._id} kept changing; erase again`);
        const result = await this.rewrite(page, matches);
        if (result !== undefined) {
          count += result;
          break;
        }
        page = await this.store.pages.findOne({ _id: page._id });
      }
    }
    return count;
  }

  /** Runs `work` holding the tenant's lock; undefined, without running it, while another replica holds it. */
  private async ifTenantFree<T>(tenantId: string, work: () => Promise<T>): Promise<T | undefined> {
    if (!(await this.tryLock(tenantId))) return undefined;
    return this.holding(tenantId, work);
  }

  /** Runs `work` holding the tenant's lock, waiting up to LOCK_WAIT_MS for it (then fails: erase again). */
  private async withTenantLock<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (!(await this.tryLock(tenantId))) {
      if (Date.now() > deadline) {
        throw new Error(`another replica is rewriting tenant ${tenantId}'s rated legs; erase again`);
      }
      await delay(100);
    }
    return this.holding(tenantId, work);
  }

  private async holding<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.locks.deleteOne({ _id: tenantId, owner: this.owner });
    }
  }

  private async tryLock(tenantId: string): Promise<boolean> {
    try {
      await this.locks.insertOne({ _id: tenantId, owner: this.owner, expiresAt: new Date(Date.now() + LOCK_LEASE_MS) });
      return true;
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
    const held = await this.locks.findOne({ _id: tenantId });
    if (held && held.expiresAt < new Date()) await this.locks.deleteOne({ _id: tenantId, owner: held.owner });
    return false;
  }

  /**
   * Rewrites one page with the citizen legs `due` picks shortened and records `fullFrom`. Returns
   * how many legs it shortened, or undefined when another writer changed the page first.
   */
  private async rewrite(page: PageDoc, due: (leg: RatedLegRecord) => boolean): Promise<number | undefined> {
    let count = 0;
    let fullFrom: Date | null = null;
    const legs = decodeLegs(page).map((leg) => {
      if (!namesCitizen(leg)) return leg;
      if (due(leg)) {
        count += 1;
        return shortened(leg);
      }
      if (!fullFrom || leg.startedAt < fullFrom) fullFrom = leg.startedAt;
      return leg;
    });
    const revision = page.privacyRev ?? 0;
    const result = await this.store.pages.updateOne(
      { _id: page._id, privacyRev: page.privacyRev === undefined ? { $exists: false } : revision },
      { $set: { fullFrom, privacyRev: revision + 1, ...(count > 0 ? { legs: encodeLegs(legs) } : {}) } },
    );
    return result.matchedCount === 1 ? count : undefined;
  }
}
