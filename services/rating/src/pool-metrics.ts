import { metrics, type BatchObservableCallback } from '@opentelemetry/api';
import type { Logger } from '@switchboard/service-kit';
import { billingMonthOf } from './berlin-time.js';
import type { RatingEngine } from './engine.js';
import type { TariffStore } from './tariff-store.js';
import { monthUsage } from './usage.js';

// Bundle usage per tenant and pool for the usage dashboard and the 80 %/100 % alerts. Catching up
// a tenant's chain is a query per tenant, so it runs on an interval into a snapshot that scrapes read,
// never per scrape. Every replica reports the same figures: dashboards take `max`, not `sum`.

interface PoolFigures {
  tenant: string;
  pool: string;
  usedMinutes: number;
  includedMinutes: number;
  forecastMinutes: number;
}

interface Snapshot {
  pools: PoolFigures[];
  /** Charged beyond the bundles this month per tenant, in cents (the engine's 1/10,000 EUR / 100). */
  overageCents: Map<string, number>;
}

const minutes = (seconds: string) => Math.round(Number(seconds) / 6) / 10;

export async function poolSnapshot(tariffStore: TariffStore, engine: RatingEngine, now: Date): Promise<Snapshot> {
  const month = billingMonthOf(now);
  const snapshot: Snapshot = { pools: [], overageCents: new Map() };
  for (const tenant of await engine.tenantsOf(month)) {
    const usage = await monthUsage(tariffStore, engine, tenant, month, now);
    for (const pool of usage.pools) {
      snapshot.pools.push({
        tenant,
        pool: pool.pool,
        usedMinutes: minutes(pool.usedSeconds),
        includedMinutes: minutes(pool.capacitySeconds),
        forecastMinutes: minutes(pool.forecastUsedSeconds),
      });
    }
    snapshot.overageCents.set(tenant, Math.round(Number(usage.amount) / 100));
  }
  return snapshot;
}

/** Registers the gauges and refreshes their snapshot every `intervalMs`; returns the stop function. */
export function startPoolMetrics(load: () => Promise<Snapshot>, intervalMs: number, logger: Logger): () => void {
  const meter = metrics.getMeter('@switchboard/rating');
  const used = meter.createObservableGauge('rating.pool.used', {
    description: 'Minutes rated from a bundle pool this month (Europe/Berlin month).',
    unit: 'min',
  });
  const included = meter.createObservableGauge('rating.pool.included', {
    description: 'Minutes the booked bundles include this month.',
    unit: 'min',
  });
  const forecast = meter.createObservableGauge('rating.pool.forecast', {
    description: 'Minutes the pool is forecast to reach by the end of the month at the pace so far.',
    unit: 'min',
  });
  const overage = meter.createObservableGauge('rating.overage.amount', {
    description: 'Charged beyond the bundles this month, net, in euro cents.',
    unit: '{cent}',
  });
  let snapshot: Snapshot = { pools: [], overageCents: new Map() };
  const refresh = () =>
    load().then(
      (fresh) => (snapshot = fresh),
      (error: unknown) => logger.warn({ err: error }, 'could not refresh bundle usage metrics'),
    );
  void refresh();
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  const observe: BatchObservableCallback = (result) => {
    for (const figures of snapshot.pools) {
      const attributes = { tenant: figures.tenant, pool: figures.pool };
      result.observe(used, figures.usedMinutes, attributes);
      result.observe(included, figures.includedMinutes, attributes);
      result.observe(forecast, figures.forecastMinutes, attributes);
    }
    for (const [tenant, cents] of snapshot.overageCents) result.observe(overage, cents, { tenant });
  };
  meter.addBatchObservableCallback(observe, [used, included, forecast, overage]);
  return () => {
    clearInterval(timer);
    meter.removeBatchObservableCallback(observe, [used, included, forecast, overage]);
  };
}
