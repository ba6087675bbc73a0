import type { ratingServiceV1 } from '@switchboard/proto';
import { createLogger } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMonth } from '../test/generate-month.js';
import { startHarness, type Harness } from '../test/harness.js';
import { RatingEngine } from './engine.js';
import { poolSnapshot, startPoolMetrics } from './pool-metrics.js';
import { openStore } from './store.js';
import { TariffStore } from './tariff-store.js';

const logger = createLogger({ service: 'rating-test', level: 'silent' });
let h: Harness;

beforeAll(async () => {
  h = await startHarness('rating_pool_metrics');
});

afterAll(async () => {
  await h?.stop();
});

describe('bundle usage metrics', () => {
  it('report the same minutes and overage as GetUsage, per tenant and pool', async () => {
    const tenantId = 't-metrics';
    const month = '2026-03';
    await h.publishCalls(generateMonth({ tenantId, month, calls: 60, sites: 3, seed: 7 }));
    await h.settled();
    const asOf = new Date('2026-03-16T00:00:00Z');
    const store = openStore(h.db);
    const tariffStore = new TariffStore(store);
    const engine = new RatingEngine(store, tariffStore, () => Promise.reject(new Error('not publishing')), logger);

    const snapshot = await poolSnapshot(tariffStore, engine, asOf);
    const usage = await h.rpc<ratingServiceV1.GetUsageRequest, ratingServiceV1.GetUsageResponse>(
      'getUsage',
      { tenantId, month, asOf },
      tenantId,
    );
    const minutes = (seconds: string) => Math.round(Number(seconds) / 6) / 10;
    expect(snapshot.pools).toEqual(
      usage.pools.map((pool) => ({
        tenant: tenantId,
        pool: pool.pool,
        usedMinutes: minutes(pool.usedSeconds),
        includedMinutes: minutes(pool.capacitySeconds),
        forecastMinutes: minutes(pool.forecastUsedSeconds),
      })),
    );
    expect(snapshot.pools.some((pool) => pool.usedMinutes > 0)).toBe(true);
    expect(snapshot.overageCents.get(tenantId)).toBe(Math.round(Number(usage.amount) / 100));
  });

  it('serve the snapshot on /metrics under the contract names', async () => {
    let markLoaded!: () => void;
    const loaded = new Promise<void>((resolve) => (markLoaded = resolve));
    const stop = startPoolMetrics(
      async () => {
        markLoaded();
        return {
          pools: [
            { tenant: 't-x', pool: 'de-fixed', usedMinutes: 812.5, includedMinutes: 1000, forecastMinutes: 1650 },
          ],
          overageCents: new Map([['t-x', 4210]]),
        };
      },
      60_000,
      logger,
    );
    try {
      await loaded;
      const text = await (await fetch(`http://127.0.0.1:${h.service.httpPort}/metrics`)).text();
      expect(text).toMatch(/\nrating_pool_used\{tenant="t-x",pool="de-fixed"[^}]*\} 812\.5\n/);
      expect(text).toMatch(/\nrating_pool_included\{tenant="t-x",pool="de-fixed"[^}]*\} 1000\n/);
      expect(text).toMatch(/\nrating_pool_forecast\{tenant="t-x",pool="de-fixed"[^}]*\} 1650\n/);
      expect(text).toMatch(/\nrating_overage_amount\{tenant="t-x"[^}]*\} 4210\n/);
    } finally {
      stop();
    }
  });
});
