import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Binary, type Collection, type Db } from 'mongodb';
import type { IndexDeclaration } from '@switchboard/service-kit';
import type { DestinationClass } from '@switchboard/numbering';
import type { ratingV1 } from '@switchboard/proto';
import type { LegRole, LegSource } from './legs.js';
import type { Charge } from './pricing.js';
import { POOLS, type Pool } from './pools.js';
import type { Tariff } from './tariff.js';

/** One rated leg in one rating version, as rating keeps it (inside a page) and publishes it. */
export interface RatedLegRecord {
  tenantId: string;
  callId: string;
  legId: string;
  ratingVersion: number;
  billingMonth: string;
  siteId: string;
  startedAt: Date;
  destination: string;
  destinationClass: string;
  durationSeconds: number;
  billedSeconds: number;
  /** '' when the class draws no pool. */
  pool: string;
  /** Billed seconds of the pool up to and including this leg (0 without a pool). */
  poolBilledAfter: number;
  bundleSeconds: number;
  overageSeconds: number;
  connectionFee: number;
  amount: number;
  charges: Charge[];
  tariffId: string;
  tariffVersion: number;
  /** What the leg was rated from; rerating rates it again from here. */
  source: LegSource;
}

/** Billed seconds of a pool before and after one batch: the batch's legs hold exactly [from, to). */
export interface PoolRange {
  from: number;
  to: number;
}

/**
 * One link of a tenant's month's chain in one rating version: the legs one replica rated in one
 * batch. `_id` is `<tenant>:<month>:<version>:<seq>` (seq zero-padded, from 1, without gaps), so
 * inserting it is the atomic claim of the pools' next ranges; a replica that loses the race reads
 * the links it lacks and rates again. The legs themselves are in the page `page` names.
 */
export interface BatchDoc {
  _id: string;
  tenantId: string;
  billingMonth: string;
  ratingVersion: number;
  seq: number;
  pools: Record<Pool, PoolRange>;
  legCount: number;
  /** The chain keys (`<call>\t<leg>`) of the batch's legs, packed (see pack): what makes a redelivery a duplicate. */
  keys: Binary;
  /** Usage of the batch per class (JSON of ClassTotals[]), so usage is summed from links, not legs. */
  totals: string;
  /** `_id` of the page holding the legs. */
  page: string;
  createdAt: Date;
}

/**
 * The legs of one link, written just before the link. `_id` is the link's `_id` plus a nonce, so a
 * page of a replica that lost the race for that link (or crashed before writing it) is an orphan
 * no link names, never mistaken for the winner's.
 */
export interface PageDoc {
  _id: string;
  tenantId: string;
  billingMonth: string;
  ratingVersion: number;
  /** The legs as JSON tuples (see encodeLegs), packed: a few bytes of binary cost FerretDB far less than fields. */
  legs: Binary;
  /** 1: raw DEFLATE of the JSON of the tuples. */
  format: 1;
  /**
   * Retention (src/privacy.ts): the earliest start of a leg whose number is still whole, null when
   * none is; absent on a page no sweep has looked at yet.
   */
  fullFrom?: Date | null;
  /** Bumped by every privacy rewrite of `legs`: the compare-and-set that keeps two rewrites from undoing each other. */
  privacyRev?: number;
}

export interface MonthDoc {
  _id: string;
  tenantId: string;
  month: string;
  ratingVersion: number;
}

export interface TariffDoc extends Tariff {
  _id: string;
  tenantId: string;
}

export interface ThresholdDoc {
  _id: string;
  tenantId: string;
  month: string;
  pool: string;
  thresholdPercent: number;
  reachedAt: Date;
}

export const COLLECTIONS = {
  batches: 'rating_batches',
  pages: 'rating_pages',
  months: 'rating_months',
  tariffs: 'rating_tariffs',
  thresholds: 'rating_thresholds',
} as const;

export const INDEXES: readonly IndexDeclaration[] = [
  {
    collection: COLLECTIONS.batches,
    key: { tenantId: 1, billingMonth: 1, ratingVersion: 1, seq: 1 },
    options: { name: 'tenant_month_version_seq' },
  },
  {
    collection: COLLECTIONS.pages,
    key: { tenantId: 1, billingMonth: 1, ratingVersion: 1 },
    options: { name: 'tenant_month_version' },
  },
  {
    collection: COLLECTIONS.tariffs,
    key: { tenantId: 1, version: 1 },
    options: { name: 'tenant_version_unique', unique: true },
  },
];

export interface Store {
  batches: Collection<BatchDoc>;
  pages: Collection<PageDoc>;
  months: Collection<MonthDoc>;
  tariffs: Collection<TariffDoc>;
  thresholds: Collection<ThresholdDoc>;
}

export function openStore(db: Db): Store {
  return {
    batches: db.collection<BatchDoc>(COLLECTIONS.batches),
    pages: db.collection<PageDoc>(COLLECTIONS.pages),
    months: db.collection<MonthDoc>(COLLECTIONS.months),
    tariffs: db.collection<TariffDoc>(COLLECTIONS.tariffs),
    thresholds: db.collection<ThresholdDoc>(COLLECTIONS.thresholds),
  };
}

/** The event id of a rated leg: `<tenant>:<call>:<leg>:<rating_version>`. */
export function ratedLegKey(tenantId: string, callId: string, legId: string, ratingVersion: number): string {
  return `${tenantId}:${callId}:${legId}:${ratingVersion}`;
}

/** A leg's key within its chain (tenant, month and version are the chain's). */
export function chainLegKey(callId: string, legId: string): string {
  return `${callId}\t${legId}`;
}

/** `<tenant>:<month>:<version>`: one chain of links. */
export function chainId(tenantId: string, month: string, ratingVersion: number): string {
  return `${tenantId}:${month}:${ratingVersion}`;
}

export function batchId(chain: string, seq: number): string {
  return `${chain}:${String(seq).padStart(9, '0')}`;
}

export const EMPTY_POOLS = (): Record<Pool, PoolRange> =>
  Object.fromEntries(POOLS.map((pool) => [pool, { from: 0, to: 0 }])) as Record<Pool, PoolRange>;

const ROLES: readonly LegRole[] = ['inbound', 'internal', 'external', 'forwarded'];

/**
 * JSON, raw-DEFLATEd (fastest level) into a binary: FerretDB's cost grows with a document's fields
 * and bytes, and a batch's legs repeat themselves (numbers, sites, classes) about tenfold.
 */
export function pack(value: unknown): Binary {
  return new Binary(deflateRawSync(JSON.stringify(value), { level: 1 }));
}

export function unpack<T>(packed: Binary): T {
  return JSON.parse(inflateRawSync(packed.buffer).toString('utf8')) as T;
}

/** Legs as tuples: field names once in code instead of in every leg of every page. */
export function encodeLegs(legs: readonly RatedLegRecord[]): Binary {
  return pack(
    legs.map((leg) => [
      leg.callId,
      leg.legId,
      ROLES.indexOf(leg.source.role),
      leg.source.number,
      leg.source.siteId,
      leg.source.createdAt.getTime(),
      leg.source.answeredAt?.getTime() ?? null,
      leg.source.endedAt.getTime(),
      leg.source.traceparent,
      leg.siteId,
      leg.destination,
      leg.destinationClass,
      leg.durationSeconds,
      leg.billedSeconds,
      leg.pool,
      leg.poolBilledAfter,
      leg.bundleSeconds,
      leg.overageSeconds,
      leg.connectionFee,
      leg.amount,
      leg.tariffId,
      leg.tariffVersion,
      leg.charges.map((charge) => [charge.pricePerMinute, charge.seconds, charge.amount]),
      // Only on legs retention or an erase shortened: the class of the full number.
      ...(leg.source.numberClass ? [leg.source.numberClass] : []),
    ]),
  );
}

type LegTuple = [
  string,
  string,
  number,
  string,
  string,
  number,
  number | null,
  number,
  string,
  string,
  string,
  string,
  number,
  number,
  string,
  number,
  number,
  number,
  number,
  number,
  string,
  number,
  Array<[number, number, number]>,
  DestinationClass?,
];

export function decodeLegs(
  page: Pick<PageDoc, 'tenantId' | 'billingMonth' | 'ratingVersion' | 'legs'>,
): RatedLegRecord[] {
  const { tenantId, billingMonth, ratingVersion } = page;
  return unpack<LegTuple[]>(page.legs).map((tuple) => {
    const [callId, legId, role, number, siteTag, createdAt, answeredAt, endedAt, traceparent] = tuple;
    const source: LegSource = {
      tenantId,
      callId,
      legId,
      role: ROLES[role]!,
      number,
      siteId: siteTag,
      createdAt: new Date(createdAt),
      answeredAt: answeredAt === null ? undefined : new Date(answeredAt),
      endedAt: new Date(endedAt),
      traceparent,
      ...(tuple[23] ? { numberClass: tuple[23] } : {}),
    };
    return {
      tenantId,
      callId,
      legId,
      ratingVersion,
      billingMonth,
      siteId: tuple[9],
      startedAt: source.answeredAt ?? source.createdAt,
      destination: tuple[10],
      destinationClass: tuple[11],
      durationSeconds: tuple[12],
      billedSeconds: tuple[13],
      pool: tuple[14],
      poolBilledAfter: tuple[15],
      bundleSeconds: tuple[16],
      overageSeconds: tuple[17],
      connectionFee: tuple[18],
      amount: tuple[19],
      tariffId: tuple[20],
      tariffVersion: tuple[21],
      charges: tuple[22].map(([pricePerMinute, seconds, amount]) => ({ pricePerMinute, seconds, amount })),
      source,
    };
  });
}

export function toRatedLeg(leg: RatedLegRecord): ratingV1.RatedLeg {
  return {
    tenantId: leg.tenantId,
    callId: leg.callId,
    legId: leg.legId,
    siteId: leg.siteId,
    startedAt: leg.startedAt,
    billingMonth: leg.billingMonth,
    destination: leg.destination,
    destinationClass: leg.destinationClass,
    durationSeconds: leg.durationSeconds,
    billedSeconds: leg.billedSeconds,
    pool: leg.pool,
    bundleSeconds: leg.bundleSeconds,
    overageSeconds: leg.overageSeconds,
    connectionFee: String(leg.connectionFee),
    amount: String(leg.amount),
    tariffId: leg.tariffId,
    tariffVersion: leg.tariffVersion,
    ratingVersion: leg.ratingVersion,
    traceparent: leg.source.traceparent ?? '',
    charges: leg.charges.map((charge) => ({
      pricePerMinute: String(charge.pricePerMinute),
      seconds: charge.seconds,
      amount: String(charge.amount),
    })),
  };
}
