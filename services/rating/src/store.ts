import type { Collection, Db } from 'mongodb';
import type { IndexDeclaration } from '@switchboard/service-kit';
import type { ratingV1 } from '@switchboard/proto';
import type { LegSource } from './legs.js';
import type { Tariff } from './tariff.js';

/** One rated leg in one rating version; `_id` is `<tenant>:<call>:<leg>:<rating_version>`. */
export interface RatedLegDoc {
  _id: string;
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
  /** Position in its pool's drawdown within (tenant, month, rating version); 0 without a pool. */
  seq: number;
  /** Billed seconds of the pool up to and including this leg. */
  poolBilledAfter: number;
  capacitySeconds: number;
  bundleSeconds: number;
  overageSeconds: number;
  connectionFee: number;
  amount: number;
  tariffId: string;
  tariffVersion: number;
  source: Omit<LegSource, 'answeredAt'> & { answeredAt: Date | null };
}

/**
 * Slot `seq` of a pool's drawdown in one month and rating version, claimed by exactly one leg:
 * `_id` is `<tenant>:<month>:<rating_version>:<pool>:<seq>`.
 */
export interface SlotDoc {
  _id: string;
  legKey: string;
  /** Billed seconds of the pool up to and including this slot's leg. */
  billedAfter: number;
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
  legs: 'rating_legs',
  months: 'rating_months',
  slots: 'rating_pool_slots',
  tariffs: 'rating_tariffs',
  thresholds: 'rating_thresholds',
} as const;

export const INDEXES: readonly IndexDeclaration[] = [
  {
    collection: COLLECTIONS.legs,
    key: { tenantId: 1, callId: 1, legId: 1, ratingVersion: 1 },
    options: { name: 'leg_version_unique', unique: true },
  },
  {
    collection: COLLECTIONS.legs,
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
  legs: Collection<RatedLegDoc>;
  months: Collection<MonthDoc>;
  slots: Collection<SlotDoc>;
  tariffs: Collection<TariffDoc>;
  thresholds: Collection<ThresholdDoc>;
}

export function openStore(db: Db): Store {
  return {
    legs: db.collection<RatedLegDoc>(COLLECTIONS.legs),
    months: db.collection<MonthDoc>(COLLECTIONS.months),
    slots: db.collection<SlotDoc>(COLLECTIONS.slots),
    tariffs: db.collection<TariffDoc>(COLLECTIONS.tariffs),
    thresholds: db.collection<ThresholdDoc>(COLLECTIONS.thresholds),
  };
}

export function ratedLegKey(tenantId: string, callId: string, legId: string, ratingVersion: number): string {
  return `${tenantId}:${callId}:${legId}:${ratingVersion}`;
}

export function poolKey(tenantId: string, month: string, ratingVersion: number, pool: string): string {
  return `${tenantId}:${month}:${ratingVersion}:${pool}`;
}

export function toRatedLeg(doc: RatedLegDoc): ratingV1.RatedLeg {
  return {
    tenantId: doc.tenantId,
    callId: doc.callId,
    legId: doc.legId,
    siteId: doc.siteId,
    startedAt: doc.startedAt,
    billingMonth: doc.billingMonth,
    destination: doc.destination,
    destinationClass: doc.destinationClass,
    durationSeconds: doc.durationSeconds,
    billedSeconds: doc.billedSeconds,
    pool: doc.pool,
    bundleSeconds: doc.bundleSeconds,
    overageSeconds: doc.overageSeconds,
    connectionFee: String(doc.connectionFee),
    amount: String(doc.amount),
    tariffId: doc.tariffId,
    tariffVersion: doc.tariffVersion,
    ratingVersion: doc.ratingVersion,
    traceparent: doc.source.traceparent ?? '',
    charges: [],
  };
}

export function sourceOf(doc: RatedLegDoc): LegSource {
  return { ...doc.source, answeredAt: doc.source.answeredAt ?? undefined };
}
