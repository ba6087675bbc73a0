import { setTimeout as sleep } from 'node:timers/promises';
import { RatingEvents } from '@switchboard/events';
import type { callV1 } from '@switchboard/proto';
import {
  DuplicateKeyError,
  newEventMeta,
  withTypedErrors,
  type Logger,
  type ServiceContext,
} from '@switchboard/service-kit';
import { berlinDateOf, monthRange } from './berlin-time.js';
import { PACKAGE_SECONDS, type Pool } from './pools.js';
import { KeyedLock } from './keyed-lock.js';
import { billableLegs, type LegSource } from './legs.js';
import { priceLeg, shareOf, tariffDateOf, type PricedLeg } from './rate-leg.js';
import { poolKey, ratedLegKey, sourceOf, toRatedLeg, type RatedLegDoc, type SlotDoc, type Store } from './store.js';
import { tariffOn, type Tariff } from './tariff.js';
import type { TariffStore } from './tariff-store.js';

export type Publish = ServiceContext<object>['publish'];

export const THRESHOLDS = [80, 100] as const;
const PRODUCER = 'rating';
const SLOT_ATTEMPTS = 10;
const BATCH = 500;
const PUBLISH_WINDOW = 256;
/** Legs this replica rated lately, kept to answer redeliveries without a read. */
const RECENT_LEGS = 20_000;
/** How long a replica trusts its cached rating version of a month; rerate waits this out, then sweeps. */
const VERSION_CACHE_MS = 1_000;

/** Capacity of a pool in a month: the packages of the tariff in force on the month's first day. */
export function capacityOf(tariffs: readonly Tariff[], month: string, pool: Pool): number {
  return tariffOn(tariffs, berlinDateOf(monthRange(month).start)).packages * PACKAGE_SECONDS[pool];
}

interface PoolTail {
  seq: number;
  billedAfter: number;
}

interface QueuedCall {
  sources: readonly LegSource[];
  resolve(legs: number): void;
  reject(error: unknown): void;
}

const isDuplicate = (error: unknown) => error instanceof DuplicateKeyError;

/**
 * Rates legs into the store and publishes them. Within a tenant, legs are rated one at a time, and
 * each pool leg takes the next slot of its month's drawdown (arrival order). A slot is a document
 * with a unique `_id`, so a leg can hold only one and a slot only one leg: a replica racing for it,
 * or a crash between storing the leg and claiming its slot, is repaired, never double-drawn. A leg
 * is published only once its slot is claimed; a leg found stored is republished, never re-rated.
 * The hot path only inserts: FerretDB 1.24 (SQLite) checks a unique `_id` on insert at once but
 * answers a find, even by `_id`, by scanning the collection. Reads are kept for redeliveries of
 * legs not rated lately, a replica's first leg of a pool-month, and cached settings.
 */
export class RatingEngine {
  private readonly locks = new KeyedLock();
  private readonly reachedThresholds = new Set<string>();
  /** Last claimed slot per pool, as this replica knows it; never ahead of the store. */
  private readonly tails = new Map<string, PoolTail>();
  private readonly versions = new Map<string, { version: number; readAt: number }>();
  private readonly recent = new Map<string, RatedLegDoc>();
  /** Calls waiting for their tenant's next batch. */
  private readonly queues = new Map<string, QueuedCall[]>();

  constructor(
    private readonly store: Store,
    private readonly tariffStore: TariffStore,
    private readonly publish: Publish,
    private readonly logger: Logger,
  ) {}

  /**
   * Rates every billable leg of an ended call; safe to repeat (a rated leg is republished, not
   * re-rated). Calls of a tenant that arrive while its previous batch is being stored are rated
   * together in the next batch: one `insertMany` of legs and one of slots instead of one or two
   * inserts per leg.
   */
  rateCall(tenantId: string, event: callV1.CallEnded): Promise<number> {
    const sources = billableLegs(tenantId, event);
    return new Promise<number>((resolve, reject) => {
      const queue = this.queues.get(tenantId) ?? [];
      queue.push({ sources, resolve, reject });
      this.queues.set(tenantId, queue);
      if (queue.length === 1) void this.locks.run(tenantId, () => this.flush(tenantId));
    });
  }

  private async flush(tenantId: string): Promise<void> {
    const batch = this.queues.get(tenantId) ?? [];
    this.queues.delete(tenantId);
    let batched: RatedLegDoc[][] | undefined;
    try {
      batched = await this.storeBatch(batch);
    } catch (error) {
      this.logger.debug({ err: error, tenantId }, 'batch insert failed; rating its legs one by one');
    }
    for (const [index, call] of batch.entries()) {
      try {
        const stored = batched?.[index] ?? (await this.rateOneByOne(call.sources));
        await this.publishAll(stored);
        for (const doc of stored) await this.checkThresholds(doc);
        call.resolve(call.sources.length);
      } catch (error) {
        call.reject(error);
      }
    }
  }

  private async rateOneByOne(sources: readonly LegSource[]): Promise<RatedLegDoc[]> {
    const docs: RatedLegDoc[] = [];
    for (const source of sources) docs.push(await this.rateLive(source));
    return docs;
  }

  /**
   * The fast path for legs not rated before: all legs, then all their slots (numbered on from the
   * pool tails in memory) with one ordered `insertMany` each. Any failure (a leg stored before a
   * restart, a slot another replica took) forgets those tails and throws; the caller then rates
   * leg by leg, which keeps whatever part of the batch is consistent and re-appends the rest.
   */
  private async storeBatch(calls: readonly QueuedCall[]): Promise<RatedLegDoc[][]> {
    const tails = new Map<string, PoolTail>();
    const fresh: RatedLegDoc[] = [];
    const byKey = new Map<string, RatedLegDoc>();
    const grouped: RatedLegDoc[][] = [];
    for (const call of calls) {
      const docs: RatedLegDoc[] = [];
      for (const source of call.sources) {
        const tariffs = await this.tariffStore.list(source.tenantId);
        const priced = priceLeg(source, tariffOn(tariffs, tariffDateOf(source)));
        const version = await this.currentVersion(source.tenantId, priced.billingMonth);
        const key = ratedLegKey(source.tenantId, source.callId, source.legId, version);
        let doc = byKey.get(key) ?? this.recent.get(key);
        if (!doc) {
          const tailId = priced.pool ? poolKey(source.tenantId, priced.billingMonth, version, priced.pool) : '';
          const tail = tailId ? (tails.get(tailId) ?? (await this.tailOf(tailId))) : { seq: 0, billedAfter: 0 };
          const capacity = priced.pool ? capacityOf(tariffs, priced.billingMonth, priced.pool) : 0;
          doc = this.buildDoc(source, priced, version, capacity, tail);
          if (tailId) tails.set(tailId, { seq: doc.seq, billedAfter: doc.poolBilledAfter });
          fresh.push(doc);
        }
        byKey.set(key, doc);
        docs.push(doc);
      }
      grouped.push(docs);
    }
    const slots: SlotDoc[] = fresh
      .filter((doc) => doc.pool)
      .map((doc) => ({
        _id: `${poolKey(doc.tenantId, doc.billingMonth, doc.ratingVersion, doc.pool)}:${doc.seq}`,
        legKey: doc._id,
        billedAfter: doc.poolBilledAfter,
      }));
    try {
      if (fresh.length) await this.store.legs.insertMany(fresh, { ordered: true });
      if (slots.length) await this.store.slots.insertMany(slots, { ordered: true });
    } catch (error) {
      for (const tailId of tails.keys()) this.tails.delete(tailId);
      throw error;
    }
    for (const [tailId, tail] of tails) this.tails.set(tailId, tail);
    for (const doc of fresh) this.remember(doc);
    return grouped;
  }

  async currentVersion(tenantId: string, month: string, fresh = false): Promise<number> {
    const id = `${tenantId}:${month}`;
    const cached = this.versions.get(id);
    if (!fresh && cached && Date.now() - cached.readAt < VERSION_CACHE_MS) return cached.version;
    const version = (await this.store.months.findOne({ _id: id }))?.ratingVersion ?? 1;
    this.versions.set(id, { version, readAt: Date.now() });
    return version;
  }

  private async rateLive(source: LegSource, version?: number): Promise<RatedLegDoc> {
    const tariffs = await this.tariffStore.list(source.tenantId);
    const priced = priceLeg(source, tariffOn(tariffs, tariffDateOf(source)));
    const ratingVersion = version ?? (await this.currentVersion(source.tenantId, priced.billingMonth));
    return this.append(source, priced, ratingVersion, tariffs);
  }

  private buildDoc(
    source: LegSource,
    priced: PricedLeg,
    version: number,
    capacitySeconds: number,
    tail: PoolTail,
  ): RatedLegDoc {
    const share = shareOf(priced, capacitySeconds - tail.billedAfter);
    const pool = priced.pool ?? '';
    return {
      _id: ratedLegKey(source.tenantId, source.callId, source.legId, version),
      tenantId: source.tenantId,
      callId: source.callId,
      legId: source.legId,
      ratingVersion: version,
      billingMonth: priced.billingMonth,
      siteId: priced.siteId,
      startedAt: priced.startedAt,
      destination: priced.destination,
      destinationClass: priced.destinationClass,
      durationSeconds: priced.durationSeconds,
      billedSeconds: priced.billedSeconds,
      pool,
      seq: pool ? tail.seq + 1 : 0,
      poolBilledAfter: pool ? tail.billedAfter + priced.billedSeconds : 0,
      capacitySeconds: pool ? capacitySeconds : 0,
      bundleSeconds: share.bundleSeconds,
      overageSeconds: share.overageSeconds,
      connectionFee: priced.connectionFee,
      amount: share.amount,
      tariffId: priced.tariffId,
      tariffVersion: priced.tariffVersion,
      source: { ...source, answeredAt: source.answeredAt ?? null },
    };
  }

  /** Stores a leg in the next slot of its pool, or returns the leg as stored before. */
  private async append(
    source: LegSource,
    priced: PricedLeg,
    version: number,
    tariffs: readonly Tariff[],
  ): Promise<RatedLegDoc> {
    const capacity = priced.pool ? capacityOf(tariffs, priced.billingMonth, priced.pool) : 0;
    const tailId = priced.pool ? poolKey(source.tenantId, priced.billingMonth, version, priced.pool) : '';
    const known = this.recent.get(ratedLegKey(source.tenantId, source.callId, source.legId, version));
    if (known) return known;
    for (let attempt = 0; attempt < SLOT_ATTEMPTS; attempt++) {
      const tail = tailId ? await this.tailOf(tailId) : { seq: 0, billedAfter: 0 };
      const doc = this.buildDoc(source, priced, version, capacity, tail);
      try {
        await withTypedErrors(this.store.legs, (legs) => legs.insertOne(doc));
      } catch (error) {
        if (!isDuplicate(error)) throw error;
        const stored = await this.store.legs.findOne({ _id: doc._id });
        if (stored && (await this.claimSlot(stored, true))) return this.remember(stored);
        continue;
      }
      if (await this.claimSlot(doc)) return this.remember(doc);
    }
    throw new Error(`no free drawdown slot for ${tailId || source.legId}; will retry`);
  }

  private remember(doc: RatedLegDoc): RatedLegDoc {
    this.recent.set(doc._id, doc);
    if (this.recent.size > RECENT_LEGS) this.recent.delete(this.recent.keys().next().value as string);
    return doc;
  }

  /**
   * Claims a stored leg's slot. When another leg holds it, or (`verify`, for a leg found stored
   * rather than just built from the known tail) the slot before it does not end where this leg's
   * share begins, the leg - never published with that split - is deleted and false returned:
   * append again. So slots have no gaps and each one's drawdown follows from the one before.
   */
  private async claimSlot(doc: RatedLegDoc, verify = false): Promise<boolean> {
    if (!doc.pool) return true;
    const tailId = poolKey(doc.tenantId, doc.billingMonth, doc.ratingVersion, doc.pool);
    const slot: SlotDoc = { _id: `${tailId}:${doc.seq}`, legKey: doc._id, billedAfter: doc.poolBilledAfter };
    const drop = async () => {
      await this.store.legs.deleteOne({ _id: doc._id });
      this.tails.delete(tailId);
      return false;
    };
    if (verify) {
      const before = doc.poolBilledAfter - doc.billedSeconds;
      const previous = doc.seq > 1 ? await this.store.slots.findOne({ _id: `${tailId}:${doc.seq - 1}` }) : null;
      if (doc.seq > 1 ? previous?.billedAfter !== before : before !== 0) return drop();
    }
    try {
      await withTypedErrors(this.store.slots, (slots) => slots.insertOne(slot));
    } catch (error) {
      if (!isDuplicate(error)) throw error;
      const holder = await this.store.slots.findOne({ _id: slot._id });
      if (holder?.legKey !== doc._id) return drop();
    }
    const known = this.tails.get(tailId);
    if (!known || known.seq < doc.seq) this.tails.set(tailId, { seq: doc.seq, billedAfter: doc.poolBilledAfter });
    return true;
  }

  /** The last claimed slot of a pool: from memory, else found by probing slot ids (they have no gaps). */
  private async tailOf(tailId: string): Promise<PoolTail> {
    const known = this.tails.get(tailId);
    if (known) return known;
    const slotAt = (seq: number) => this.store.slots.findOne({ _id: `${tailId}:${seq}` });
    let low = 0;
    let lowSlot: SlotDoc | null = null;
    let high = 1;
    for (let slot = await slotAt(high); slot; slot = await slotAt(high)) {
      [low, lowSlot, high] = [high, slot, high * 2];
    }
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      const slot = await slotAt(middle);
      if (slot) [low, lowSlot] = [middle, slot];
      else high = middle;
    }
    const tail = { seq: low, billedAfter: lowSlot?.billedAfter ?? 0 };
    this.tails.set(tailId, tail);
    return tail;
  }

  /** Publishes stored legs, a window at a time; each event id is the leg's key, so repeats are dropped. */
  private async publishAll(docs: readonly RatedLegDoc[]): Promise<void> {
    for (let index = 0; index < docs.length; index += PUBLISH_WINDOW) {
      await Promise.all(
        docs.slice(index, index + PUBLISH_WINDOW).map((doc) =>
          this.publish(RatingEvents.cdrRated, {
            meta: { ...newEventMeta(doc.tenantId, PRODUCER), eventId: doc._id },
            leg: toRatedLeg(doc),
          }),
        ),
      );
    }
  }

  /** Publishes each threshold the pool has reached once per tenant, month and pool (marker documents). */
  private async checkThresholds(doc: RatedLegDoc): Promise<void> {
    if (!doc.pool || doc.capacitySeconds <= 0) return;
    for (const threshold of THRESHOLDS) {
      if (doc.poolBilledAfter * 100 < doc.capacitySeconds * threshold) continue;
      const id = `${doc.tenantId}:${doc.billingMonth}:${doc.pool}:${threshold}`;
      if (this.reachedThresholds.has(id)) continue;
      if (!(await this.store.thresholds.findOne({ _id: id }))) {
        await this.publish(RatingEvents.poolThresholdReached, {
          meta: { ...newEventMeta(doc.tenantId, PRODUCER), eventId: id },
          tenantId: doc.tenantId,
          billingMonth: doc.billingMonth,
          pool: doc.pool,
          thresholdPercent: threshold,
          capacitySeconds: String(doc.capacitySeconds),
          usedSeconds: String(doc.poolBilledAfter),
          callId: doc.callId,
          legId: doc.legId,
        });
        const marker = {
          _id: id,
          tenantId: doc.tenantId,
          month: doc.billingMonth,
          pool: doc.pool,
          thresholdPercent: threshold,
          reachedAt: new Date(),
        };
        await withTypedErrors(this.store.thresholds, (thresholds) => thresholds.insertOne(marker)).catch(
          (error: unknown) => {
            if (!isDuplicate(error)) throw error;
          },
        );
        this.logger.info({ id, usedSeconds: doc.poolBilledAfter }, 'pool threshold reached');
      }
      this.reachedThresholds.add(id);
    }
  }

  /**
   * Rates a month again under the tariffs now stored, as rating version current + 1, drawing pools
   * in answer order (ties by call and leg id). The new version becomes current only once every leg
   * is stored; the old version stays for audit. Runs under the tenant's lock, so this replica's live
   * legs wait; legs other replicas rated into the old version before they saw the switch are swept
   * into the new one afterwards.
   */
  async rerate(tenantId: string, month: string): Promise<{ ratingVersion: number; previous: number; legs: number }> {
    monthRange(month);
    return this.locks.run(tenantId, async () => {
      const previous = await this.currentVersion(tenantId, month, true);
      const next = previous + 1;
      const tariffs = await this.tariffStore.list(tenantId, true);
      const old = await this.store.legs
        .find({ tenantId, billingMonth: month, ratingVersion: previous })
        .sort({ startedAt: 1, callId: 1, legId: 1 })
        .toArray();
      // Left by a rerate that stopped before switching versions: never current, never published.
      await this.store.legs.deleteMany({ tenantId, billingMonth: month, ratingVersion: next });
      await this.store.slots.deleteMany({ _id: new RegExp(`^${tenantId}:${month}:${next}:`) });
      const tails = new Map<string, PoolTail>();
      const docs = old.map((oldDoc) => {
        const source = sourceOf(oldDoc);
        const priced = priceLeg(source, tariffOn(tariffs, tariffDateOf(source)));
        const tail = (priced.pool && tails.get(priced.pool)) || { seq: 0, billedAfter: 0 };
        const capacity = priced.pool ? capacityOf(tariffs, month, priced.pool) : 0;
        const doc = this.buildDoc(source, priced, next, capacity, tail);
        if (priced.pool) tails.set(priced.pool, { seq: doc.seq, billedAfter: doc.poolBilledAfter });
        return doc;
      });
      const slots = docs
        .filter((doc) => doc.pool)
        .map((doc) => ({
          _id: `${poolKey(tenantId, month, next, doc.pool)}:${doc.seq}`,
          legKey: doc._id,
          billedAfter: doc.poolBilledAfter,
        }));
      for (let index = 0; index < docs.length; index += BATCH) {
        await this.store.legs.insertMany(docs.slice(index, index + BATCH));
      }
      for (let index = 0; index < slots.length; index += BATCH) {
        await this.store.slots.insertMany(slots.slice(index, index + BATCH));
      }
      for (const [pool, tail] of tails) this.tails.set(poolKey(tenantId, month, next, pool), tail);
      await this.store.months.updateOne(
        { _id: `${tenantId}:${month}` },
        { $set: { tenantId, month, ratingVersion: next } },
        { upsert: true },
      );
      this.versions.set(`${tenantId}:${month}`, { version: next, readAt: Date.now() });
      await this.publishAll(docs);
      for (const doc of new Map(docs.filter((doc) => doc.pool).map((doc) => [doc.pool, doc])).values()) {
        await this.checkThresholds(doc);
      }
      const swept = await this.sweep(tenantId, month, previous, next, new Set(old.map((doc) => doc._id)));
      return { ratingVersion: next, previous, legs: docs.length + swept };
    });
  }

  /** Rates into `next` the legs other replicas put into `previous` while they still cached it. */
  private async sweep(tenantId: string, month: string, previous: number, next: number, seen: Set<string>) {
    await sleep(VERSION_CACHE_MS);
    const late = await this.store.legs.find({ tenantId, billingMonth: month, ratingVersion: previous }).toArray();
    const swept: RatedLegDoc[] = [];
    for (const doc of late) {
      if (!seen.has(doc._id)) swept.push(await this.rateLive(sourceOf(doc), next));
    }
    await this.publishAll(swept);
    for (const doc of swept) await this.checkThresholds(doc);
    return swept.length;
  }
}
