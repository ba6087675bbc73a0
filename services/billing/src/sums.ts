import type { ChargeSum, FeeSum, UsageRow } from './invoice.js';
import type { StoredLeg } from './rated-legs.js';

// The arithmetic of usage sums, shared by the roll-ups, the month close and corrections: what one
// leg contributes, and adding (or subtracting) one contribution to a sum. All integers.

/** What one leg version adds to its usage row. */
export interface LegContribution {
  amount: number;
  billedSeconds: number;
  bundleSeconds: number;
  overageSeconds: number;
  legs: number;
  charges: ChargeSum[];
  connectionFees: FeeSum[];
}

type ChargeSource = Pick<
  StoredLeg,
  'amount' | 'connectionFee' | 'pool' | 'billedSeconds' | 'overageSeconds' | 'charges'
>;

/**
 * The leg's charges per price per minute, ascending. Legs stored before rating sent charges
 * have none: they get one entry, amount − connection fee over the billed seconds (the overage
 * seconds where a pool applies), at the price per minute that gives.
 */
export function legCharges(leg: ChargeSource): ChargeSum[] {
  if (leg.charges && leg.charges.length > 0) return mergeCharges([], leg.charges, 1);
  const amount = leg.amount - leg.connectionFee;
  if (amount === 0) return [];
  const seconds = leg.pool ? leg.overageSeconds : leg.billedSeconds;
  const pricePerMinute = seconds > 0 ? Math.round((amount * 60) / seconds) : 0;
  return [{ pricePerMinute, seconds, amount }];
}

/** The leg's connection fee as a fee sum (none when it has no fee). */
export function legFees(leg: Pick<StoredLeg, 'connectionFee'>): FeeSum[] {
  return leg.connectionFee === 0 ? [] : [{ unitPrice: leg.connectionFee, count: 1, amount: leg.connectionFee }];
}

export function contributionOf(leg: ChargeSource & Pick<StoredLeg, 'bundleSeconds'>): LegContribution {
  return {
    amount: leg.amount,
    billedSeconds: leg.billedSeconds,
    bundleSeconds: leg.bundleSeconds,
    overageSeconds: leg.overageSeconds,
    legs: 1,
    charges: legCharges(leg),
    connectionFees: legFees(leg),
  };
}

/** `into` plus `sign` × `add`, per price, ascending; entries that come to nothing are dropped. */
export function mergeCharges(into: readonly ChargeSum[], add: readonly ChargeSum[], sign: 1 | -1): ChargeSum[] {
  // A handful of prices at most: arrays beat maps here, and this runs per leg.
  const merged = into.map((entry) => ({ ...entry }));
  for (const entry of add) {
    let sum = merged.find((candidate) => candidate.pricePerMinute === entry.pricePerMinute);
    if (!sum) {
      sum = { pricePerMinute: entry.pricePerMinute, seconds: 0, amount: 0 };
      merged.push(sum);
    }
    sum.seconds += sign * entry.seconds;
    sum.amount += sign * entry.amount;
  }
  return merged
    .filter((entry) => entry.seconds !== 0 || entry.amount !== 0)
    .sort((a, b) => a.pricePerMinute - b.pricePerMinute);
}

/** `into` plus `sign` × `add`, per fee price, ascending; entries that come to nothing are dropped. */
export function mergeFees(into: readonly FeeSum[], add: readonly FeeSum[], sign: 1 | -1): FeeSum[] {
  const merged = into.map((entry) => ({ ...entry }));
  for (const entry of add) {
    let sum = merged.find((candidate) => candidate.unitPrice === entry.unitPrice);
    if (!sum) {
      sum = { unitPrice: entry.unitPrice, count: 0, amount: 0 };
      merged.push(sum);
    }
    sum.count += sign * entry.count;
    sum.amount += sign * entry.amount;
  }
  return merged.filter((entry) => entry.count !== 0 || entry.amount !== 0).sort((a, b) => a.unitPrice - b.unitPrice);
}

/** Adds `sign` × a contribution to a sum in place. */
export function addContribution(sum: LegContribution, add: LegContribution, sign: 1 | -1): void {
  sum.amount += sign * add.amount;
  sum.billedSeconds += sign * add.billedSeconds;
  sum.bundleSeconds += sign * add.bundleSeconds;
  sum.overageSeconds += sign * add.overageSeconds;
  sum.legs += sign * add.legs;
  sum.charges = mergeCharges(sum.charges, add.charges, sign);
  sum.connectionFees = mergeFees(sum.connectionFees, add.connectionFees, sign);
}

export const emptyContribution = (): LegContribution => ({
  amount: 0,
  billedSeconds: 0,
  bundleSeconds: 0,
  overageSeconds: 0,
  legs: 0,
  charges: [],
  connectionFees: [],
});

/** Sums legs (one version each) into usage rows per site, class and pool — what month close bills. */
export function usageRowsOf(legs: Iterable<StoredLeg>): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const leg of legs) {
    const key = `${leg.siteId}\u0000${leg.destinationClass}\u0000${leg.pool}`;
    let row = rows.get(key);
    if (!row) {
      row = { siteId: leg.siteId, destinationClass: leg.destinationClass, pool: leg.pool, ...emptyContribution() };
      rows.set(key, row);
    }
    addContribution(row, contributionOf(leg), 1);
  }
  return [...rows.values()];
}
