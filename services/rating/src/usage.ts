import type { ratingServiceV1 } from '@switchboard/proto';
import { berlinDateOf, monthRange } from './berlin-time.js';
import { POOLS } from './pools.js';
import { capacityOf, type RatingEngine } from './engine.js';
import { tariffOn } from './tariff.js';
import type { TariffStore } from './tariff-store.js';

const str = (value: number) => String(value);

/**
 * Usage of a month in its current rating version, summed from its chain's links as the store holds
 * them (every replica's), so it cannot drift from the rated legs. The forecast extrapolates the pace so far to the month's end: pool
 * minutes linearly, overage beyond capacity at the class's base price, other charges linearly.
 */
export async function monthUsage(
  tariffStore: TariffStore,
  engine: RatingEngine,
  tenantId: string,
  month: string,
  asOf: Date,
): Promise<ratingServiceV1.GetUsageResponse> {
  const { start, end } = monthRange(month);
  const { ratingVersion, classes: totals } = await engine.monthTotals(tenantId, month);
  const tariffs = await tariffStore.list(tenantId);
  const byClass = new Map(totals.map((entry) => [entry.destinationClass, entry]));

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
      destinationClass: entry.destinationClass,
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
