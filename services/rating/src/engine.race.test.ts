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
import { startMongo, startNats, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billableLegs } from './legs.js';
import { RatingEngine } from './engine.js';
import { INDEXES, openStore, type RatedLegDoc, type SlotDoc } from './store.js';
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
  nats = await connectNats({ url: natsServer.url, name: 'race', logger });
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
  it('draw each pool through one gap-free chain of slots, every leg once', async () => {
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
    await Promise.all(calls.map((call, index) => replicas[index % 2]!.rateCall(tenantId, call)));

    const legs = await store.legs.find({ tenantId }).toArray();
    const billable = calls.flatMap((call) => billableLegs(tenantId, call));
    expect(legs).toHaveLength(billable.length);
    for (const pool of ['de-fixed', 'de-mobile']) {
      const pooled = legs.filter((leg) => leg.pool === pool);
      const slots = await store.slots.find({ _id: new RegExp(`^${tenantId}:2026-03:1:${pool}:`) }).toArray();
      const bySeq = new Map<number, SlotDoc>(slots.map((slot) => [Number(slot._id.split(':').at(-1)), slot]));
      const byKey = new Map<string, RatedLegDoc>(pooled.map((leg) => [leg._id, leg]));
      expect(slots).toHaveLength(pooled.length);
      let billed = 0;
      for (let seq = 1; seq <= slots.length; seq++) {
        const slot = bySeq.get(seq)!;
        const leg = byKey.get(slot.legKey)!;
        billed += leg.billedSeconds;
        expect([leg.seq, slot.billedAfter, leg.poolBilledAfter]).toEqual([seq, billed, billed]);
      }
      const capacity = pool === 'de-fixed' ? 60_000 : 42_000;
      expect(pooled.reduce((sum, leg) => sum + leg.bundleSeconds, 0)).toBe(Math.min(billed, capacity));
      expect(pooled.reduce((sum, leg) => sum + leg.overageSeconds, 0)).toBe(Math.max(billed - capacity, 0));
    }
  }, 240_000);
});
