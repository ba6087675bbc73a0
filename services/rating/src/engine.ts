import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { metrics } from '@opentelemetry/api';
import { MongoBulkWriteError, type Collection, type Document, type OptionalUnlessRequiredId } from 'mongodb';
import { RatingEvents } from '@switchboard/events';
import type { callV1 } from '@switchboard/proto';
import { newEventMeta, type Logger, type ServiceContext } from '@switchboard/service-kit';
import { berlinDateOf, monthRange } from './berlin-time.js';
import { ChainState, totalsOf, type ClassTotals } from './chain.js';
import { KeyedLock } from './keyed-lock.js';
import { billableLegs, type LegSource } from './legs.js';
import { PACKAGE_SECONDS, POOLS, type Pool } from './pools.js';
import { priceLeg, shareOf, tariffDateOf, UNASSIGNED_SITE, type PricedLeg } from './rate-leg.js';
import type { PublishLegs } from './leg-publisher.js';
import type { SiteLookup, SiteReport } from './sites.js';
import {
  EMPTY_POOLS,
  batchId,
  chainId,
  chainLegKey,
  decodeLegs,
  encodeLegs,
  pack,
  ratedLegKey,
  toRatedLeg,
  type BatchDoc,
  type PageDoc,
  type RatedLegRecord,
  type Store,
} from './store.js';
import { tariffOn, type Tariff } from './tariff.js';
import type { TariffStore } from './tariff-store.js';

export type Publish = ServiceContext<object>['publish'];

export const THRESHOLDS = [80, 100] as const;
const PRODUCER = 'rating';
/** Links a commit tries to append to one chain before it gives its calls back for redelivery. */
const COMMIT_ATTEMPTS = 50;
/** Legs per link when rerating a month. */
const RERATE_PAGE_LEGS = 2_000;
const PUBLISH_WINDOW = 2_048;
/** Legs this replica rated lately, kept to answer redeliveries without reading their pages. */
const RECENT_LEGS = 50_000;
/** How long a replica trusts its cached rating version of a month; rerate waits this out, then sweeps. */
const VERSION_CACHE_MS = 1_000;
/** A chain nobody rated into or asked about for this long is dropped from memory (read again on use). */
const CHAIN_IDLE_MS = 15 * 60_000;
const DUPLICATE_KEY = 11_000;

/** Capacity of a pool in a month: the packages of the tariff in force on the month's first day. */
export function capacityOf(tariffs: readonly Tariff[], month: string, pool: Pool): number {
  return tariffOn(tariffs, berlinDateOf(monthRange(month).start)).packages * PACKAGE_SECONDS[pool];
}

/**
 * Draws a priced leg from its pool in the order legs come (`pools` holds each pool's billed seconds
 * so far and is advanced) and makes its record: live rating and rerating share the rule.
 */
function drawnRecord(
  priced: PricedLeg,
  source: LegSource,
  pools: Record<Pool, number>,
  into: { tenantId: string; month: string; ratingVersion: number; capacity: (pool: Pool) => number },
): RatedLegRecord {
  const pool = priced.pool;
  const share = shareOf(priced, pool ? into.capacity(pool) - pools[pool] : 0);
  if (pool) pools[pool] += priced.billedSeconds;
  return {
    tenantId: into.tenantId,
    callId: source.callId,
    legId: source.legId,
    ratingVersion: into.ratingVersion,
    billingMonth: into.month,
    siteId: priced.siteId,
    startedAt: priced.startedAt,
    destination: priced.destination,
    destinationClass: priced.destinationClass,
    durationSeconds: priced.durationSeconds,
    billedSeconds: priced.billedSeconds,
    pool: pool ?? '',
    poolBilledAfter: pool ? pools[pool] : 0,
    bundleSeconds: share.bundleSeconds,
    overageSeconds: share.overageSeconds,
    connectionFee: priced.connectionFee,
    amount: share.amount,
    charges: share.charges,
    tariffId: priced.tariffId,
    tariffVersion: priced.tariffVersion,
    source,
  };
}

/** The outcome of storing a batch of calls; publishing is a second step so the next batch can be stored meanwhile. */
export interface Committed {
  /** Per call: undefined when every leg of it is stored (now or before), else why not. */
  readonly failures: ReadonlyArray<Error | undefined>;
  /**
   * Publishes the stored legs of the calls that did not fail (each leg once, under its key as event
   * id) and the thresholds they reached; resolves to the failures per call after publishing.
   */
  publish(): Promise<ReadonlyArray<Error | undefined>>;
}

interface PendingLeg {
  call: number;
  source: LegSource;
  priced: PricedLeg;
  tariffs: readonly Tariff[];
  key: string;
  eventId: string;
}

interface Write {
  chain: ChainState;
  legs: PendingLeg[];
  records: RatedLegRecord[];
  page: PageDoc;
  link: BatchDoc;
  keys: string[];
  totals: ClassTotals[];
}

interface QueuedCall {
  sources: readonly LegSource[];
  resolve(legs: number): void;
  reject(error: unknown): void;
}

type InsertOutcome = 'inserted' | 'duplicate' | Error;

export interface EngineOptions {
  /** The tenants' sites (the directory); without it legs keep the sites they name. */
  sites?: SiteLookup;
  siteReport?: SiteReport;
  /** Publishes rated legs in bulk; without it each goes through `publish`. */
  publishLegs?: PublishLegs;
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/**
 * Inserts documents with one unordered `insertMany` and tells, per document, whether it was stored,
 * clashed with an existing `_id`, or failed otherwise (a failure without a per-document answer, e.g.
 * a lost connection, leaves every document's fate unknown: an Error for each).
 */
async function insertAll<T extends Document & { _id: string }>(
  collection: Collection<T>,
  docs: readonly T[],
): Promise<InsertOutcome[]> {
  const outcomes: InsertOutcome[] = docs.map(() => 'inserted');
  if (!docs.length) return outcomes;
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) return docs.map(() => asError(error));
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    for (const writeError of writeErrors) {
      outcomes[writeError.index] =
        writeError.code === DUPLICATE_KEY ? 'duplicate' : new Error(writeError.errmsg ?? 'write failed');
    }
  }
  return outcomes;
}

/**
 * Rates legs into the store and publishes them. Each tenant's month in each rating version is a
 * chain of links: a link holds the legs one replica rated in one batch and the range of each pool
 * they drew, and its `_id` ends in its position, so inserting link n+1 is one atomic claim of the
 * pools' next ranges, and a replica appends only once it knows links 1..n: the pools' tails are
 * the last link's, and a leg is already rated exactly when some link holds it. A replica that loses
 * the race for a position reads the links it lacks and rates the rest of its batch again. The legs
 * of a link are in a page written just before it; a page no link names (a lost race, a crash) is
 * never read. Live legs draw pools in arrival order; `rerate` rebuilds a month in answer order.
 */
export class RatingEngine {
  private readonly locks = new KeyedLock();
  private readonly reachedThresholds = new Set<string>();
  private readonly chains = new Map<string, ChainState>();
  private readonly versions = new Map<string, { version: number; readAt: number }>();
  /** Legs rated lately, in two generations: the older one is dropped whole when the newer is full. */
  private recent = new Map<string, RatedLegRecord>();
  private older = new Map<string, RatedLegRecord>();
  private queue: QueuedCall[] = [];
  private flushing = false;
  // Made with the engine, not on import: a meter taken before the SDK starts stays a no-op.
  private readonly republished = metrics.getMeter('@switchboard/rating').createCounter('rating.legs.republished', {
    description:
      'Legs found rated already (a redelivery after a crash or a lost ack, a repeated event) and published again unchanged.',
    unit: '{leg}',
  });

  private readonly sites: SiteLookup | undefined;
  private readonly siteReport: SiteReport | undefined;
  private readonly publishLegs: PublishLegs | undefined;

  constructor(
    private readonly store: Store,
    private readonly tariffStore: TariffStore,
    private readonly publishEvent: Publish,
    private readonly logger: Logger,
    options: EngineOptions = {},
  ) {
    this.sites = options.sites;
    this.siteReport = options.siteReport;
    this.publishLegs = options.publishLegs;
  }

  /**
   * Rates every billable leg of an ended call and publishes them; safe to repeat (a rated leg is
   * republished, not rated again). Calls that arrive while a batch is stored go into the next one.
   */
  rateCall(tenantId: string, event: callV1.CallEnded): Promise<number> {
    const sources = billableLegs(tenantId, event);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ sources, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushQueue());
      }
    });
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        const committed = await this.commit(batch.map((call) => call.sources));
        const failures = await committed.publish();
        batch.forEach((call, index) => {
          const failure = failures[index];
          if (failure) call.reject(failure);
          else call.resolve(call.sources.length);
        });
      } catch (error) {
        for (const call of batch) call.reject(error);
      }
    }
    this.flushing = false;
  }

  /**
   * Stores the legs of a batch of calls: per chain one page and one link (all chains' pages in one
   * unordered `insertMany`, then all links in another), again for chains another replica moved on.
   * Legs already in their chain are looked up to be republished unchanged.
   */
  async commit(calls: ReadonlyArray<readonly LegSource[]>): Promise<Committed> {
    const tenants = [...new Set(calls.flatMap((sources) => sources.map((source) => source.tenantId)))];
    // Pricing needs no chain: it runs before the locks, so a batch is priced while the one before it is stored.
    const failures: Array<Error | undefined> = calls.map(() => undefined);
    const priced = await this.price(calls, (call, error) => (failures[call] ??= asError(error)));
    return this.locks.runAll(tenants, () => this.commitLocked(priced, failures));
  }

  private async commitLocked(
    { groups, byCall }: Awaited<ReturnType<RatingEngine['price']>>,
    failures: Array<Error | undefined>,
  ): Promise<Committed> {
    this.evictIdle();
    const fail = (call: number, error: unknown) => (failures[call] ??= asError(error));
    const records = new Map<string, RatedLegRecord>();
    const duplicates: Array<{ chain: ChainState; leg: PendingLeg }> = [];
    try {
      await this.loadChains([...groups.keys()]);
    } catch (error) {
      for (const legs of groups.values()) for (const leg of legs) fail(leg.call, error);
      return this.committed(byCall, failures, records);
    }

    let pending = [...groups.keys()];
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS && pending.length; attempt++) {
      const writes: Write[] = [];
      for (const id of pending) {
        const chain = this.chains.get(id)!;
        chain.lastUsed = Date.now();
        const write = this.buildWrite(chain, groups.get(id)!, failures, duplicates);
        if (write) writes.push(write);
      }
      const behind: string[] = [];
      const pages = await insertAll(
        this.store.pages,
        writes.map((write) => write.page),
      );
      const linkable = writes.filter((write, index) => {
        const outcome = pages[index]!;
        if (outcome === 'inserted') return true;
        for (const leg of write.legs) fail(leg.call, outcome === 'duplicate' ? new Error('page id clash') : outcome);
        return false;
      });
      const links = await insertAll(
        this.store.batches,
        linkable.map((write) => write.link),
      );
      linkable.forEach((write, index) => {
        const outcome = links[index]!;
        if (outcome === 'inserted') {
          write.chain.apply(write.link, write);
          write.records.forEach((record) => this.remember(record, records));
          for (const { priced, source } of write.legs) {
            if (priced.unknownSite || priced.siteId === UNASSIGNED_SITE) {
              this.siteReport?.unknownSite(
                source.tenantId,
                priced.unknownSite,
                priced.siteId,
                source.callId,
                source.legId,
              );
            }
          }
        } else if (outcome === 'duplicate') {
          behind.push(write.chain.id);
        } else {
          // Stored or not, nobody can say: forget the chain, so its next use reads it again.
          this.chains.delete(write.chain.id);
          for (const leg of write.legs) fail(leg.call, outcome);
        }
      });
      pending = behind;
      if (pending.length) {
        try {
          await this.catchUp(pending.map((id) => this.chains.get(id)!));
        } catch (error) {
          for (const id of pending) for (const leg of groups.get(id)!) fail(leg.call, error);
          pending = [];
        }
      }
    }
    for (const id of pending) {
      for (const leg of groups.get(id)!) fail(leg.call, new Error(`chain ${id} kept moving; will retry`));
    }
    try {
      await this.resolveDuplicates(duplicates, records);
      const again = new Set(duplicates.map(({ leg }) => leg.eventId)).size;
      if (again) this.republished.add(again);
    } catch (error) {
      for (const { leg } of duplicates) fail(leg.call, error);
    }
    return this.committed(byCall, failures, records);
  }

  /** Prices every leg under its tenant's tariffs and sites and groups the legs by chain, in arrival order. */
  private async price(
    calls: ReadonlyArray<readonly LegSource[]>,
    fail: (call: number, error: unknown) => void,
  ): Promise<{ groups: Map<string, PendingLeg[]>; byCall: PendingLeg[][] }> {
    const groups = new Map<string, PendingLeg[]>();
    const byCall: PendingLeg[][] = calls.map(() => []);
    // Each tenant's tariffs and sites, and each month's rating version, asked for all at once.
    const tenants = [...new Set(calls.flatMap((sources) => sources.map((source) => source.tenantId)))];
    const contexts = new Map(
      await Promise.all(
        tenants.map(async (tenantId) => {
          const [tariffs, sites] = await Promise.all([this.tariffStore.list(tenantId), this.sites?.sitesOf(tenantId)]);
          return [tenantId, { tariffs, sites }] as const;
        }),
      ).catch((error: unknown) => {
        calls.forEach((_, call) => fail(call, error));
        return [];
      }),
    );
    const priced: Array<Array<PricedLeg | undefined>> = calls.map((sources, call) =>
      sources.map((source) => {
        const context = contexts.get(source.tenantId);
        if (!context) return undefined;
        try {
          return priceLeg(source, tariffOn(context.tariffs, tariffDateOf(source)), context.sites);
        } catch (error) {
          fail(call, error);
          return undefined;
        }
      }),
    );
    const months = new Set<string>();
    calls.forEach((sources, call) =>
      sources.forEach((source, index) => {
        const leg = priced[call]![index];
        if (leg) months.add(`${source.tenantId}:${leg.billingMonth}`);
      }),
    );
    try {
      await this.currentVersions([...months]);
    } catch (error) {
      calls.forEach((_, call) => fail(call, error));
    }
    for (const [call, sources] of calls.entries()) {
      sources.forEach((source, index) => {
        const leg = priced[call]![index];
        const version = leg && this.versions.get(`${source.tenantId}:${leg.billingMonth}`)?.version;
        if (!leg || version === undefined) return;
        const id = chainId(source.tenantId, leg.billingMonth, version);
        const pending: PendingLeg = {
          call,
          source,
          priced: leg,
          tariffs: contexts.get(source.tenantId)!.tariffs,
          key: chainLegKey(source.callId, source.legId),
          eventId: ratedLegKey(source.tenantId, source.callId, source.legId, version),
        };
        const group = groups.get(id);
        if (group) group.push(pending);
        else groups.set(id, [pending]);
        byCall[call]!.push(pending);
      });
    }
    return { groups, byCall };
  }

  /** The next link of a chain for the legs not in it yet; the others are noted as duplicates. */
  private buildWrite(
    chain: ChainState,
    legs: readonly PendingLeg[],
    failures: ReadonlyArray<Error | undefined>,
    duplicates: Array<{ chain: ChainState; leg: PendingLeg }>,
  ): Write | undefined {
    const pools = { ...chain.pools };
    const fresh: PendingLeg[] = [];
    const records: RatedLegRecord[] = [];
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const leg of legs) {
      if (failures[leg.call]) continue;
      if (chain.legs.has(leg.key)) {
        duplicates.push({ chain, leg });
        continue;
      }
      // A second copy in this batch is published with the first (same event id).
      if (seen.has(leg.key)) continue;
      seen.add(leg.key);
      records.push(
        drawnRecord(leg.priced, leg.source, pools, {
          tenantId: chain.tenantId,
          month: chain.month,
          ratingVersion: chain.version,
          capacity: (pool) => capacityOf(leg.tariffs, chain.month, pool),
        }),
      );
      fresh.push(leg);
      keys.push(leg.key);
    }
    if (!records.length) return undefined;
    return { chain, legs: fresh, records, ...this.linkOf(chain, chain.seq + 1, records, keys, pools) };
  }

  private linkOf(
    chain: ChainState,
    seq: number,
    records: readonly RatedLegRecord[],
    keys: readonly string[],
    poolsAfter: Readonly<Record<Pool, number>>,
    poolsBefore: Readonly<Record<Pool, number>> = chain.pools,
  ): { page: PageDoc; link: BatchDoc; keys: string[]; totals: ClassTotals[] } {
    const id = batchId(chain.id, seq);
    const totals = totalsOf(records);
    const page: PageDoc = {
      _id: `${id}:${randomBytes(6).toString('hex')}`,
      tenantId: chain.tenantId,
      billingMonth: chain.month,
      ratingVersion: chain.version,
      legs: encodeLegs(records),
      format: 1,
    };
    const pools = EMPTY_POOLS();
    for (const pool of POOLS) pools[pool] = { from: poolsBefore[pool], to: poolsAfter[pool] };
    const link: BatchDoc = {
      _id: id,
      tenantId: chain.tenantId,
      billingMonth: chain.month,
      ratingVersion: chain.version,
      seq,
      pools,
      legCount: records.length,
      keys: pack(keys),
      totals: JSON.stringify(totals),
      page: page._id,
      createdAt: new Date(),
    };
    return { page, link, keys: [...keys], totals };
  }

  private remember(record: RatedLegRecord, into?: Map<string, RatedLegRecord>): void {
    const key = ratedLegKey(record.tenantId, record.callId, record.legId, record.ratingVersion);
    into?.set(key, record);
    this.recent.set(key, record);
    // Not a Map trimmed at its oldest key: V8 then walks every deleted entry before it on each trim.
    if (this.recent.size >= RECENT_LEGS / 2) {
      this.older = this.recent;
      this.recent = new Map();
    }
  }

  private recalled(eventId: string): RatedLegRecord | undefined {
    return this.recent.get(eventId) ?? this.older.get(eventId);
  }

  /** Finds the stored record of each duplicate: recently rated here, else from its link's page. */
  private async resolveDuplicates(
    duplicates: ReadonlyArray<{ chain: ChainState; leg: PendingLeg }>,
    records: Map<string, RatedLegRecord>,
  ): Promise<void> {
    const pages = new Map<string, ChainState>();
    for (const { chain, leg } of duplicates) {
      if (records.has(leg.eventId)) continue;
      const known = this.recalled(leg.eventId);
      if (known) {
        records.set(leg.eventId, known);
        continue;
      }
      const seq = chain.legs.get(leg.key);
      const page = seq === undefined ? undefined : chain.pages.get(seq);
      if (page) pages.set(page, chain);
    }
    for (const [id, chain] of pages) {
      const page = await this.store.pages.findOne({ _id: id });
      if (!page) throw new Error(`page ${id} of chain ${chain.id} is missing`);
      for (const record of decodeLegs(page)) this.remember(record, records);
    }
  }

  private committed(
    byCall: ReadonlyArray<readonly PendingLeg[]>,
    failures: ReadonlyArray<Error | undefined>,
    records: ReadonlyMap<string, RatedLegRecord>,
  ): Committed {
    return {
      failures,
      publish: async () => {
        const outcome: Array<Error | undefined> = [...failures];
        const byEvent = new Map<string, RatedLegRecord>();
        const callsOf = new Map<string, number[]>();
        byCall.forEach((legs, call) => {
          if (outcome[call]) return;
          const missing = legs.find((leg) => !records.has(leg.eventId));
          if (missing) {
            outcome[call] = new Error(
              `leg ${missing.source.legId} of call ${missing.source.callId} has no stored rating`,
            );
            return;
          }
          for (const leg of legs) {
            byEvent.set(leg.eventId, records.get(leg.eventId)!);
            callsOf.set(leg.eventId, [...(callsOf.get(leg.eventId) ?? []), call]);
          }
        });
        const errors = await this.publishAll([...byEvent.values()]);
        for (const [eventId, error] of errors) for (const call of callsOf.get(eventId) ?? []) outcome[call] ??= error;
        try {
          await this.checkThresholds([...byEvent.values()]);
        } catch (error) {
          outcome.forEach((failure, call) => (outcome[call] = failure ?? asError(error)));
        }
        return outcome;
      },
    };
  }

  /** Refreshes the cached rating versions of months (`<tenant>:<month>`) older than the cache allows, in one read. */
  private async currentVersions(ids: readonly string[]): Promise<void> {
    const now = Date.now();
    const stale = ids.filter((id) => {
      const cached = this.versions.get(id);
      return !cached || now - cached.readAt >= VERSION_CACHE_MS;
    });
    if (!stale.length) return;
    const stored = new Map(
      (await this.store.months.find({ _id: { $in: stale } }).toArray()).map((doc) => [doc._id, doc.ratingVersion]),
    );
    for (const id of stale) this.versions.set(id, { version: stored.get(id) ?? 1, readAt: now });
  }

  async currentVersion(tenantId: string, month: string, fresh = false): Promise<number> {
    const id = `${tenantId}:${month}`;
    const cached = this.versions.get(id);
    if (!fresh && cached && Date.now() - cached.readAt < VERSION_CACHE_MS) return cached.version;
    const version = (await this.store.months.findOne({ _id: id }))?.ratingVersion ?? 1;
    this.versions.set(id, { version, readAt: Date.now() });
    return version;
  }

  /** Reads the chains not in memory, all in one query. */
  private async loadChains(ids: readonly string[]): Promise<void> {
    const missing = new Map<string, ChainState>();
    for (const id of ids) {
      if (this.chains.has(id)) continue;
      const [tenantId, month, version] = splitChainId(id);
      missing.set(id, new ChainState(id, tenantId, month, version));
    }
    if (!missing.size) return;
    const links = await this.store.batches
      .find({
        $or: [...missing.values()].map((chain) => ({
          tenantId: chain.tenantId,
          billingMonth: chain.month,
          ratingVersion: chain.version,
        })),
      })
      .toArray();
    applyLinks(missing, links);
    for (const chain of missing.values()) this.chains.set(chain.id, chain);
  }

  /** Reads the links appended to these chains (by other replicas) since this replica last saw them. */
  private async catchUp(chains: readonly ChainState[]): Promise<void> {
    if (!chains.length) return;
    const byId = new Map(chains.map((chain) => [chain.id, chain]));
    const links = await this.store.batches
      .find({
        $or: chains.map((chain) => ({
          tenantId: chain.tenantId,
          billingMonth: chain.month,
          ratingVersion: chain.version,
          seq: { $gt: chain.seq },
        })),
      })
      .toArray();
    applyLinks(byId, links);
  }

  /** A chain as the store has it now: loaded, or caught up. */
  private async freshChain(tenantId: string, month: string, version: number): Promise<ChainState> {
    const id = chainId(tenantId, month, version);
    const known = this.chains.get(id);
    if (known) await this.catchUp([known]);
    else await this.loadChains([id]);
    const chain = this.chains.get(id)!;
    chain.lastUsed = Date.now();
    return chain;
  }

  /** Usage of a month in its current rating version, from its chain's links (exact: all replicas' links). */
  async monthTotals(tenantId: string, month: string): Promise<{ ratingVersion: number; classes: ClassTotals[] }> {
    const ratingVersion = await this.currentVersion(tenantId, month);
    const chain = await this.freshChain(tenantId, month, ratingVersion);
    return { ratingVersion, classes: chain.classTotals() };
  }

  /** Tenants with rated legs in a month. */
  async tenantsOf(month: string): Promise<string[]> {
    return ((await this.store.batches.distinct('tenantId', { billingMonth: month })) as string[]).sort();
  }

  /** Every leg of a chain in link order, from the pages its links name. */
  private async legsOf(chain: ChainState): Promise<RatedLegRecord[]> {
    const pages = new Map<string, PageDoc>();
    const cursor = this.store.pages.find({
      tenantId: chain.tenantId,
      billingMonth: chain.month,
      ratingVersion: chain.version,
    });
    for await (const page of cursor) pages.set(page._id, page);
    const legs: RatedLegRecord[] = [];
    for (let seq = 1; seq <= chain.seq; seq++) {
      const page = pages.get(chain.pages.get(seq) ?? '');
      if (!page) throw new Error(`page of link ${seq} of chain ${chain.id} is missing`);
      legs.push(...decodeLegs(page));
    }
    return legs;
  }

  private evictIdle(): void {
    const now = Date.now();
    for (const [id, chain] of this.chains) if (now - chain.lastUsed > CHAIN_IDLE_MS) this.chains.delete(id);
  }

  /** Publishes rated legs, a window at a time; each event id is the leg's key, so repeats are dropped. */
  private async publishAll(legs: readonly RatedLegRecord[]): Promise<Map<string, Error>> {
    if (this.publishLegs) return this.publishLegs(legs);
    const errors = new Map<string, Error>();
    for (let index = 0; index < legs.length; index += PUBLISH_WINDOW) {
      await Promise.all(
        legs.slice(index, index + PUBLISH_WINDOW).map(async (leg) => {
          const eventId = ratedLegKey(leg.tenantId, leg.callId, leg.legId, leg.ratingVersion);
          try {
            await this.publishEvent(RatingEvents.cdrRated, {
              meta: { ...newEventMeta(leg.tenantId, PRODUCER), eventId },
              leg: toRatedLeg(leg),
            });
          } catch (error) {
            errors.set(eventId, asError(error));
          }
        }),
      );
    }
    return errors;
  }

  /**
   * Publishes each threshold that published legs reached, once per tenant, month, pool and threshold
   * (marker documents), with the first leg at or past it. Also for legs republished after a crash, so
   * a threshold a stored link reached is never lost.
   */
  private async checkThresholds(legs: readonly RatedLegRecord[]): Promise<void> {
    const capacities = new Map<string, number>();
    const crossing = new Map<string, { leg: RatedLegRecord; threshold: number; capacity: number }>();
    for (const leg of legs) {
      if (!leg.pool) continue;
      const poolKey = `${leg.tenantId}:${leg.billingMonth}:${leg.pool}`;
      let capacity = capacities.get(poolKey);
      if (capacity === undefined) {
        capacity = capacityOf(await this.tariffStore.list(leg.tenantId), leg.billingMonth, leg.pool as Pool);
        capacities.set(poolKey, capacity);
      }
      if (capacity <= 0) continue;
      for (const threshold of THRESHOLDS) {
        if (leg.poolBilledAfter * 100 < capacity * threshold) continue;
        const id = `${poolKey}:${threshold}`;
        if (this.reachedThresholds.has(id)) continue;
        const seen = crossing.get(id);
        if (!seen || leg.poolBilledAfter < seen.leg.poolBilledAfter) crossing.set(id, { leg, threshold, capacity });
      }
    }
    for (const [id, { leg, threshold, capacity }] of crossing) {
      if (!(await this.store.thresholds.findOne({ _id: id }))) {
        await this.publishEvent(RatingEvents.poolThresholdReached, {
          meta: { ...newEventMeta(leg.tenantId, PRODUCER), eventId: id },
          tenantId: leg.tenantId,
          billingMonth: leg.billingMonth,
          pool: leg.pool,
          thresholdPercent: threshold,
          capacitySeconds: String(capacity),
          usedSeconds: String(leg.poolBilledAfter),
          callId: leg.callId,
          legId: leg.legId,
        });
        const marker = {
          _id: id,
          tenantId: leg.tenantId,
          month: leg.billingMonth,
          pool: leg.pool,
          thresholdPercent: threshold,
          reachedAt: new Date(),
        };
        const [outcome] = await insertAll(this.store.thresholds, [marker]);
        if (outcome instanceof Error) throw outcome;
        this.logger.info({ id, usedSeconds: leg.poolBilledAfter }, 'pool threshold reached');
      }
      this.reachedThresholds.add(id);
    }
  }

  /**
   * Rates a month again under the tariffs and sites now in force, as rating version current + 1,
   * drawing pools in answer order (ties by call and leg id). The new version becomes current only
   * once all its links are stored; the old version stays for audit. Runs under the tenant's lock, so
   * this replica's live legs wait; legs other replicas rated into the old version before they saw
   * the switch are swept into the new one afterwards.
   */
  async rerate(tenantId: string, month: string): Promise<{ ratingVersion: number; previous: number; legs: number }> {
    monthRange(month);
    return this.locks.run(tenantId, async () => {
      const previous = await this.currentVersion(tenantId, month, true);
      const next = previous + 1;
      const tariffs = await this.tariffStore.list(tenantId, true);
      const sites = await this.sites?.sitesOf(tenantId);
      const old = await this.legsOf(await this.freshChain(tenantId, month, previous));
      old.sort(
        (a, b) =>
          a.startedAt.getTime() - b.startedAt.getTime() ||
          a.callId.localeCompare(b.callId) ||
          a.legId.localeCompare(b.legId),
      );
      // Left by a rerate that stopped before switching versions: never current, never published.
      await this.store.batches.deleteMany({ tenantId, billingMonth: month, ratingVersion: next });
      await this.store.pages.deleteMany({ tenantId, billingMonth: month, ratingVersion: next });
      const id = chainId(tenantId, month, next);
      const chain = new ChainState(id, tenantId, month, next);
      const pools = { ...chain.pools };
      const records: RatedLegRecord[] = [];
      const pages: PageDoc[] = [];
      const links: BatchDoc[] = [];
      let before = { ...pools };
      let pageRecords: RatedLegRecord[] = [];
      const flushPage = () => {
        if (!pageRecords.length) return;
        const keys = pageRecords.map((record) => chainLegKey(record.callId, record.legId));
        const { page, link } = this.linkOf(chain, links.length + 1, pageRecords, keys, pools, before);
        pages.push(page);
        links.push(link);
        before = { ...pools };
        pageRecords = [];
      };
      for (const { source } of old) {
        const priced = priceLeg(source, tariffOn(tariffs, tariffDateOf(source)), sites);
        const record = drawnRecord(priced, source, pools, {
          tenantId,
          month,
          ratingVersion: next,
          capacity: (pool) => capacityOf(tariffs, month, pool),
        });
        records.push(record);
        pageRecords.push(record);
        if (pageRecords.length >= RERATE_PAGE_LEGS) flushPage();
      }
      flushPage();
      if (pages.length) await this.store.pages.insertMany(pages, { ordered: true });
      if (links.length) await this.store.batches.insertMany(links, { ordered: true });
      for (const link of links) chain.apply(link);
      this.chains.set(id, chain);
      await this.store.months.updateOne(
        { _id: `${tenantId}:${month}` },
        { $set: { tenantId, month, ratingVersion: next } },
        { upsert: true },
      );
      this.versions.set(`${tenantId}:${month}`, { version: next, readAt: Date.now() });
      for (const record of records) this.remember(record);
      const errors = await this.publishAll(records);
      if (errors.size) throw [...errors.values()][0]!;
      await this.checkThresholds(records);
      const swept = await this.sweep(
        tenantId,
        month,
        previous,
        new Set(old.map((leg) => `${leg.callId}\t${leg.legId}`)),
      );
      return { ratingVersion: next, previous, legs: records.length + swept };
    });
  }

  /** Rates into the new version the legs other replicas put into `previous` while they still cached it. */
  private async sweep(tenantId: string, month: string, previous: number, seen: Set<string>): Promise<number> {
    await sleep(VERSION_CACHE_MS);
    const late = (await this.legsOf(await this.freshChain(tenantId, month, previous))).filter(
      (leg) => !seen.has(`${leg.callId}\t${leg.legId}`),
    );
    if (!late.length) return 0;
    const calls = late.map((leg) => [leg.source]);
    const stored: Array<Error | undefined> = calls.map(() => undefined);
    const priced = await this.price(calls, (call, error) => (stored[call] ??= asError(error)));
    const committed = await this.commitLocked(priced, stored);
    const failures = await committed.publish();
    const failure = failures.find(Boolean);
    if (failure) throw failure;
    return late.length;
  }
}

function splitChainId(id: string): [string, string, number] {
  const parts = id.split(':');
  const version = Number(parts.pop());
  const month = parts.pop()!;
  return [parts.join(':'), month, version];
}

/** Applies links in seq order to their chains, each from where it stands; stops a chain at a gap. */
function applyLinks(chains: ReadonlyMap<string, ChainState>, links: readonly BatchDoc[]): void {
  const sorted = [...links].sort((a, b) => a.seq - b.seq);
  for (const link of sorted) {
    const chain = chains.get(chainId(link.tenantId, link.billingMonth, link.ratingVersion));
    if (!chain || link.seq !== chain.seq + 1) continue;
    chain.apply(link);
  }
}
