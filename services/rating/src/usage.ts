import type { ratingServiceV1 } from '@switchboard/proto';
import { berlinDateOf, monthRange } from './berlin-time.js';
import { POOLS } from './pools.js';
import { capacityOf, type RatingEngine } from './engine.js';
import type { Store } from './store.js';
import { tariffOn } from './tariff.js';
import type { TariffStore } from './tariff-store.js';

interface ClassTotals {
  _id: string;
  legs: number;
  billed: number;
  bundle: number;
  overage: number;
  amount: number;
  fees: number;
}

const str = (value: number) => String(value);

/**
 * Usage of a month in its current rating version, summed from the rated legs themselves (so it
 * cannot drift from them). The forecast extrapolates the pace so far to the month's end: pool
 * minutes linearly, overage beyond capacity at the class's base price, other charges linearly.
 */
export async function monthUsage(
  store: Store,
  tariffStore: TariffStore,
  engine: RatingEngine,
  tenantId: string,
  month: string,
  asOf: Date,
): Promise<ratingServiceV1.GetUsageResponse> {
  const { start, end } = monthRange(month);
  const ratingVersion = await engine.currentVersion(tenantId, month);
  const tariffs = await tariffStore.list(tenantId);
  // Summed here rather than with $group: FerretDB 1.24 returns 0 for `$sum: '$field'`.
  const totalsByClass = new Map<string, ClassTotals>();
  const legs = store.legs.find(
    { tenantId, billingMonth: month, ratingVersion },
    {
      projection: {
        destinationClass: 1,
        billedSeconds: 1,
        bundleSeconds: 1,
        overageSeconds: 1,
        amount: 1,
        connectionFee: 1,
      },
    },
  );
  for await (const leg of legs) {
    const entry = totalsByClass.get(leg.destinationClass) ?? {
      _id: leg.destinationClass,
      legs: 0,
      billed: 0,
      bundle: 0,
      overage: 0,
      amount: 0,
      fees: 0,
    };
    entry.legs += 1;
    entry.billed += leg.billedSeconds;
    entry.bundle += leg.bundleSeconds;
    entry.overage += leg.overageSeconds;
    entry.amount += leg.amount;
    entry.fees += leg.connectionFee;
    totalsByClass.set(leg.destinationClass, entry);
  }
  const totals = [...totalsByClass.values()];
  totals.sort((a, b) => a._id.localeCompare(b._id));
  const byClass = new Map(totals.map((entry) => [entry._id, entry]));

  const length = end.getTime() - start.getTime();
  const elapsed = Math.min(Math.max(asOf.getTime() - start.getTime(), 0), length);
  const factor = elapsed > 0 ? length / elapsed : 1;
  const forecastTariff = tariffOn(tariffs, berlinDateOf(new Date(start.getTime() + Math.max(elapsed - 1, 0))));

  const amount = totals.reduce((sum, entry) => sum + entry.amount, 0);
  let poolOverageAmount = 0;
  let forecastPoolAmount = 0;
  const pools = POOLS.map((pool): ratingServiceV1.PoolUsage => {
    const entry = byClass.get(pool);
    const capacity = capacityOf(tariffs, month, pool);
    const used = entry?.billed ?? 0;
    const overage = entry?.overage ?? 0;
    const overageAmount = (entry?.amount ?? 0) - (entry?.fees ?? 0);
    const forecastUsed = Math.round(used * factor);
    const forecastOverage = Math.max(forecastUsed - capacity, overage);
    const price = forecastTariff.prices[pool]?.pricePerMinute ?? 0;
    const forecastOverageAmount = overageAmount + Math.round(((forecastOverage - overage) * price) / 60);
    poolOverageAmount += overageAmount;
    forecastPoolAmount += forecastOverageAmount;
    return {
      pool,
      capacitySeconds: str(capacity),
      usedSeconds: str(used),
      remainingSeconds: str(Math.max(capacity - used, 0)),
      overageSeconds: str(overage),
      overageAmount: str(overageAmount),
      forecastUsedSeconds: str(forecastUsed),
      forecastOverageSeconds: str(forecastOverage),
      forecastOverageAmount: str(forecastOverageAmount),
    };
  });

  return {
    tenantId,
    month,
    ratingVersion,
    packages: tariffOn(tariffs, berlinDateOf(start)).packages,
    pools,
    classes: totals.map((entry) => ({
      destinationClass: entry._id,
      legs: str(entry.legs),
      billedSeconds: str(entry.billed),
      bundleSeconds: str(entry.bundle),
      overageSeconds: str(entry.overage),
      amount: str(entry.amount),
    })),
    amount: str(amount),
    forecastAmount: str(forecastPoolAmount + Math.round((amount - poolOverageAmount) * factor)),
    asOf,
  };
}
