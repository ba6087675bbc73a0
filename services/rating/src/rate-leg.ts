import { berlinDateOf, billingMonthOf } from './berlin-time.js';
import { classifyNumber, type DestinationClass } from '@switchboard/numbering';
import { poolOf, type Pool } from './pools.js';
import type { LegSource } from './legs.js';
import { billedSeconds, chargesOf, priceSegments, toAmount, type Charge } from './pricing.js';
import type { ClassPrice, Tariff } from './tariff.js';

/** Site a leg is charged to when neither it nor its call names one and the contract has no default. */
export const UNASSIGNED_SITE = 'unassigned';

/** A leg rated under one tariff, before its bundle share is known. */
export interface PricedLeg {
  destination: string;
  destinationClass: DestinationClass;
  siteId: string;
  startedAt: Date;
  billingMonth: string;
  durationSeconds: number;
  billedSeconds: number;
  pool: Pool | undefined;
  connectionFee: number;
  tariffId: string;
  tariffVersion: number;
  /** Price of the billed seconds; undefined when the leg is free. */
  price: ClassPrice | undefined;
  /** The leg's own site when it names no site of the tenant (it is then rated to `siteId`); else ''. */
  unknownSite: string;
}

const FREE: ClassPrice = {
  pricePerMinute: 0,
  firstIncrementSeconds: 1,
  nextIncrementSeconds: 1,
  connectionFee: 0,
  timeOfDay: [],
};

function classOf(source: LegSource, tariff: Tariff): { destination: string; destinationClass: DestinationClass } {
  const classify = (number: string) =>
    source.numberClass ? { normalized: number, destinationClass: source.numberClass } : classifyNumber(number);
  switch (source.role) {
    case 'inbound':
      return { destination: source.number, destinationClass: 'inbound' };
    case 'internal':
      return { destination: source.number, destinationClass: 'internal' };
    case 'forwarded':
      // Without the contract's free forwarding, a home-office leg costs what a call to that number costs.
      if (tariff.flags.forwardingFree) {
        const { normalized } = classify(source.number);
        return { destination: normalized || source.number, destinationClass: 'forwarded-home-office' };
      }
      break;
    case 'external':
      break;
  }
  const { normalized, destinationClass } = classify(source.number);
  return { destination: normalized || source.number, destinationClass };
}

function isFreeByContract(destinationClass: DestinationClass, tariff: Tariff): boolean {
  return (
    (destinationClass === 'internal' && tariff.flags.internalFree) ||
    (destinationClass === 'inbound' && tariff.flags.inboundFree) ||
    destinationClass === 'forwarded-home-office'
  );
}

/** When the leg counts as started: its answer, or its creation when never answered. */
export function legStart(source: LegSource): Date {
  return source.answeredAt ?? source.createdAt;
}

/** The Berlin date whose tariff rates a leg. */
export function tariffDateOf(source: LegSource): string {
  return berlinDateOf(legStart(source));
}

/**
 * The site a leg is charged to: its own (or its call's) `site_id` when that is a site of the
 * tenant, else the tariff's default site when that is one, else `unassigned`. `sites` undefined
 * means the tenant's sites are not known (directory unreachable): the leg's site is then kept.
 */
export function siteOf(
  source: LegSource,
  tariff: Tariff,
  sites: ReadonlySet<string> | undefined,
): { siteId: string; unknownSite: string } {
  const known = (site: string) => !!site && (!sites || sites.has(site));
  if (known(source.siteId)) return { siteId: source.siteId, unknownSite: '' };
  const siteId = known(tariff.defaultSiteId) ? tariff.defaultSiteId : UNASSIGNED_SITE;
  return { siteId, unknownSite: source.siteId };
}

export function priceLeg(source: LegSource, tariff: Tariff, sites?: ReadonlySet<string>): PricedLeg {
  const { destination, destinationClass } = classOf(source, tariff);
  const free = isFreeByContract(destinationClass, tariff);
  const price = free ? undefined : tariff.prices[destinationClass];
  const increments = price ?? FREE;
  const startedAt = legStart(source);
  const durationSeconds = source.answeredAt
    ? Math.max(0, Math.ceil((source.endedAt.getTime() - source.answeredAt.getTime()) / 1000))
    : 0;
  return {
    destination,
    destinationClass,
    ...siteOf(source, tariff, sites),
    startedAt,
    billingMonth: billingMonthOf(startedAt),
    durationSeconds,
    billedSeconds: billedSeconds(durationSeconds, increments.firstIncrementSeconds, increments.nextIncrementSeconds),
    pool: poolOf(destinationClass),
    connectionFee: price && source.answeredAt ? price.connectionFee : 0,
    tariffId: tariff.tariffId,
    tariffVersion: tariff.version,
    price,
  };
}

export interface BundleShare {
  bundleSeconds: number;
  overageSeconds: number;
  /** 1/10,000 EUR beyond the bundle, connection fee included. */
  amount: number;
  /**
   * The charged seconds (all billed seconds, or the overage when a pool applies) per price per
   * minute in force when they started, in start order; amounts add up to amount − connection fee.
   * Empty when nothing is charged by the minute (free and unanswered legs, legs inside the bundle).
   */
  charges: Charge[];
}

/**
 * Splits a priced leg between its pool and overage: the first `available` billed seconds come from
 * the bundle, the rest is charged at the class's price for the time it falls in. Legs of classes
 * without a pool have no bundle or overage seconds; all their billed seconds are charged.
 */
export function shareOf(leg: PricedLeg, available: number): BundleShare {
  const bundleSeconds = leg.pool ? Math.min(Math.max(available, 0), leg.billedSeconds) : 0;
  const overageSeconds = leg.pool ? leg.billedSeconds - bundleSeconds : 0;
  const segments = leg.price ? priceSegments(leg.price, leg.startedAt, bundleSeconds, leg.billedSeconds) : [];
  const charged = toAmount(segments.reduce((sum, segment) => sum + segment.priceSeconds, 0));
  return { bundleSeconds, overageSeconds, amount: leg.connectionFee + charged, charges: chargesOf(segments, charged) };
}
