import { CDRS_STREAM, DLQ_STREAM } from '@switchboard/events';
import {
  applyIndexes,
  connectMongo,
  connectNats,
  createLogger,
  ensureStreams,
  publishEvent,
  type MongoHandle,
  type NatsHandle,
} from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billableLegs } from './legs.js';
import { RatingEngine } from './engine.js';
import { INDEXES, decodeLegs, openStore, unpack, type BatchDoc } from './store.js';
import { TariffStore } from './tariff-store.js';
import { generateMonth } from '../test/generate-month.js';

const logger = createLogger({ service: 'rating-race-test', level: 'silent' });
let natsServer: NatsServer;
let mongoServer: MongoServer;
let nats: NatsHandle;
let mongo: MongoHandle;

beforeAll(async () => {
  natsServer = await startNats();
  mongoServer = await startMongo();
  nats = await connectNats({ url: natsServer.url, credentials: natsServer.credentials(TESTER), name: 'race', logger });
  await ensureStreams(nats.jsm, [CDRS_STREAM, DLQ_STREAM]);
  mongo = await connectMongo({ url: mongoServer.url, dbName: 'race', appName: 'race' });
  await applyIndexes(mongo.db, INDEXES);
});

afterAll(async () => {
  await nats?.connection.close();
  await mongo?.close();
  await mongoServer?.stop();
  await natsServer?.stop();
});

describe('two replicas rating one tenant at once', () => {
  it('append to one gap-free chain whose pool ranges follow each other, every leg once', async () => {
    const tenantId = 't-race';
    const store = openStore(mongo.db);
    const replicas = [0, 1].map(
      () =>
        new RatingEngine(store, new TariffStore(store), (type, payload) => publishEvent(nats, type, payload), logger),
    );
    await new TariffStore(store).add(tenantId, {
      tariffId: 'race',
      validFrom: '2026-01-01',
      validTo: '',
      prices: [],
      flags: { internalFree: true, forwardingFree: true, inboundFree: true },
      packages: 1,
      defaultSiteId: '',
    });
    const calls = generateMonth({ tenantId, month: '2026-03', calls: 400, sites: 47, seed: 5 });
    // Each call reaches both replicas (a redelivery racing the first delivery), in opposite orders.
    await Promise.all([
      ...calls.map((call) => replicas[0]!.rateCall(tenantId, call)),
      ...[...calls].reverse().map((call) => replicas[1]!.rateCall(tenantId, call)),
    ]);

    const links = (await store.batches.find({ tenantId }).toArray()).sort((a, b) => a.seq - b.seq);
    expect(links.map((link) => link.seq)).toEqual(links.map((_, index) => index + 1));
    const pages = new Map((await store.pages.find({ tenantId }).toArray()).map((page) => [page._id, page]));
    const legs = links.flatMap((link: BatchDoc) => {
      const onPage = decodeLegs(pages.get(link.page)!);
      expect(unpack<string[]>(link.keys)).toEqual(onPage.map((leg) => `${leg.callId}\t${leg.legId}`));
      return onPage;
    });
    const billable = calls.flatMap((call) => billableLegs(tenantId, call));
    expect(legs).toHaveLength(billable.length);
    expect(new Set(legs.map((leg) => `${leg.callId}:${leg.legId}`)).size).toBe(billable.length);
    for (const pool of ['de-fixed', 'de-mobile'] as const) {
      let billed = 0;
      for (const link of links) {
        expect(link.pools[pool].from).toBe(billed);
        billed = link.pools[pool].to;
      }
      const pooled = legs.filter((leg) => leg.pool === pool);
      expect(pooled.reduce((sum, leg) => sum + leg.billedSeconds, 0)).toBe(billed);
      let after = 0;
      for (const leg of pooled) {
        after += leg.billedSeconds;
        expect(leg.poolBilledAfter).toBe(after);
      }
      const capacity = pool === 'de-fixed' ? 60_000 : 42_000;
      expect(pooled.reduce((sum, leg) => sum + leg.bundleSeconds, 0)).toBe(Math.min(billed, capacity));
      expect(pooled.reduce((sum, leg) => sum + leg.overageSeconds, 0)).toBe(Math.max(billed - capacity, 0));
    }
  }, 240_000);
});
