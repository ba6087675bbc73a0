import { startMongo, type MongoServer } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyMonth } from '../test/story-month.js';
import { RatedLegStore, type StoredLeg } from './rated-legs.js';

let server: MongoServer;
let client: MongoClient;
let store: RatedLegStore;

const at = (iso: string) => new Date(iso);
const [base] = storyMonth('t-legs', '2026-03', 5, 1).filter((leg) => leg.legId === 'leg-0');
const version = (ratingVersion: number, amount: number, receivedAt: string): StoredLeg => ({
  ...base!,
  ratingVersion,
  amount,
  receivedAt: at(receivedAt),
});

beforeAll(async () => {
  server = await startMongo();
  client = await MongoClient.connect(server.url);
  store = new RatedLegStore(client.db('legs'));
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('RatedLegStore', () => {
  it('keeps every version once and the highest as current, whatever the arrival order', async () => {
    expect(await store.record([version(2, 900, '2026-04-01T10:00:00Z')])).toBe(1);
    expect(await store.record([version(1, 500, '2026-04-01T09:00:00Z'), version(2, 900, '2026-04-02T00:00:00Z')])).toBe(
      1,
    );
    const current = await client.db('legs').collection('current_legs').find({ tenantId: 't-legs' }).toArray();
    expect(current.map((leg) => [leg['ratingVersion'], leg['amount']])).toEqual([[2, 900]]);
    expect(await client.db('legs').collection('rated_legs').countDocuments({ tenantId: 't-legs' })).toBe(2);
  });

  it('sums a month as it stood at a cutoff: a rerating after it counts with its earlier version', async () => {
    await store.record([version(3, 1_500, '2026-04-05T00:00:00Z')]);
    const before = await store.usageAt('t-legs', '2026-03', at('2026-04-03T00:00:00Z'));
    expect(before.legs).toBe(1);
    expect(before.rows.map((row) => row.amount)).toEqual([900]);
    const after = await store.usageAt('t-legs', '2026-03', at('2026-04-06T00:00:00Z'));
    expect(after.rows.map((row) => row.amount)).toEqual([1_500]);
    expect((await store.usageAt('t-legs', '2026-03', at('2026-04-01T08:00:00Z'))).legs).toBe(0);
  });

  it('reports what changed between two cutoffs as a difference per month, site and class', async () => {
    const corrections = await store.correctionsBetween(
      't-legs',
      '2026-03',
      at('2026-04-03T00:00:00Z'),
      at('2026-04-06T00:00:00Z'),
    );
    expect(corrections).toEqual([
      {
        month: '2026-03',
        siteId: base!.siteId,
        destinationClass: base!.destinationClass,
        reason: 'rerated',
        amount: 600,
        billedSeconds: 0,
        charges: expect.any(Array),
        connectionFees: [],
        legs: 1,
      },
    ]);
    expect(
      await store.correctionsBetween('t-legs', '2026-03', at('2026-04-06T00:00:00Z'), at('2026-05-01T00:00:00Z')),
    ).toEqual([]);
  });
});
