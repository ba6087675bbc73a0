import { startMongo, type MongoServer } from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { storyMonth } from '../test/story-month.js';
import { RatedLegStore, type StoredLeg } from './rated-legs.js';
import { correctionRows, usageRowsFrom } from './rollups.js';
import { usageRowsOf } from './sums.js';

let server: MongoServer;
let client: MongoClient;

const at = (iso: string) => new Date(iso);
const [base] = storyMonth('t-legs', '2026-03', 5, 1).filter((leg) => leg.legId === 'leg-0');
const version = (ratingVersion: number, amount: number): StoredLeg => ({
  ...base!,
  ratingVersion,
  amount,
  connectionFee: 0,
  charges: amount === 0 ? [] : [{ pricePerMinute: 900, seconds: base!.billedSeconds, amount }],
  receivedAt: new Date(0),
});

/** A store whose clock the test moves. */
function storeAt(db: Db, clock: { now: Date }, leaseMs = 60_000): RatedLegStore {
  return new RatedLegStore(db, { clock: () => clock.now, leaseMs });
}

/** Sorted usage rows, for comparing sums whatever their order. */
const sorted = (rows: ReturnType<typeof usageRowsOf>) =>
  [...rows].sort((a, b) =>
    `${a.siteId}|${a.destinationClass}|${a.pool}`.localeCompare(`${b.siteId}|${b.destinationClass}|${b.pool}`),
  );

beforeAll(async () => {
  server = await startMongo();
  client = await MongoClient.connect(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('RatedLegStore', () => {
  it('keeps the highest version current whatever the arrival order; the roll-up holds it once', async () => {
    const db = client.db('order');
    const clock = { now: at('2026-04-01T09:00:00Z') };
    const store = storeAt(db, clock);
    expect(await store.record([version(2, 900)])).toBe(1);
    clock.now = at('2026-04-01T10:00:00Z');
    expect(await store.record([version(1, 500), version(2, 900)])).toBe(0);
    const current = await store.exportMonth('t-legs', '2026-03').toArray();
    expect(current.map((leg) => [leg.ratingVersion, leg.amount])).toEqual([[2, 900]]);
    expect(current[0]).toEqual({ ...version(2, 900), receivedAt: at('2026-04-01T09:00:00Z') });
    expect(await db.collection('rated_legs').countDocuments({ tenantId: 't-legs' })).toBe(2);
    const rows = await store.rollups.at('t-legs', '2026-03', clock.now);
    expect(usageRowsFrom(rows)).toEqual({ rows: usageRowsOf([version(2, 900)]), legs: 1 });
  });

  it('sums a month as it stood at a cutoff: a rerating after it counts with its earlier version', async () => {
    const db = client.db('cutoff');
    const clock = { now: at('2026-04-01T09:00:00Z') };
    const store = storeAt(db, clock);
    await store.record([version(1, 500)]);
    clock.now = at('2026-04-05T00:00:00Z');
    await store.record([version(3, 1_500)]);
    const amounts = async (cutoff: string) =>
      usageRowsFrom(await store.rollups.at('t-legs', '2026-03', at(cutoff))).rows.map((row) => row.amount);
    expect(await amounts('2026-04-03T00:00:00Z')).toEqual([500]);
    expect(await amounts('2026-04-06T00:00:00Z')).toEqual([1_500]);
    expect(await amounts('2026-04-01T08:00:00Z')).toEqual([]);
  });

  it('bills reratings of invoiced versions and late legs as differences per site, class and reason', async () => {
    const db = client.db('corrections');
    const clock = { now: at('2026-04-01T09:00:00Z') };
    const store = storeAt(db, clock);
    await store.record([version(1, 500)]);
    const billed = await store.rollups.at('t-legs', '2026-03', clock.now);
    await db.collection('invoices').insertOne({ tenantId: 't-legs', month: '2026-03', cutoff: clock.now });
    clock.now = at('2026-04-05T00:00:00Z');
    const late = { ...version(1, 4_321), callId: 'call-late', connectionFee: 321 };
    late.charges = [{ pricePerMinute: 900, seconds: 267, amount: 4_000 }];
    await store.record([version(2, 1_100), late]);
    const corrections = correctionRows('2026-03', billed, await store.rollups.at('t-legs', '2026-03', clock.now));
    expect(corrections).toEqual([
      {
        month: '2026-03',
        siteId: base!.siteId,
        destinationClass: base!.destinationClass,
        reason: 'late',
        amount: 4_321,
        billedSeconds: base!.billedSeconds,
        charges: [{ pricePerMinute: 900, seconds: 267, amount: 4_000 }],
        connectionFees: [{ unitPrice: 321, count: 1, amount: 321 }],
        legs: 1,
      },
      {
        month: '2026-03',
        siteId: base!.siteId,
        destinationClass: base!.destinationClass,
        reason: 'rerated',
        amount: 600,
        billedSeconds: 0,
        charges: [{ pricePerMinute: 900, seconds: 0, amount: 600 }],
        connectionFees: [],
        legs: 1,
      },
    ]);
  });

  it('counts every version once under redelivery and concurrent stores', async () => {
    const db = client.db('concurrent');
    const clock = { now: at('2026-04-01T09:00:00Z') };
    const legs = storyMonth('t-legs', '2026-03', 17, 400);
    const rerated = legs.slice(0, 40).map((leg) => ({ ...leg, ratingVersion: 2, amount: leg.amount + 1_000 }));
    const [one, two] = [storeAt(db, clock), storeAt(db, clock)];
    await Promise.all([
      one.record(legs.slice(0, 250)),
      two.record(legs.slice(150)),
      one.record(legs.slice(100, 300)),
      two.record([...rerated.slice(0, 20), ...legs.slice(0, 100)]),
    ]);
    await Promise.all([one.record(rerated), two.record(rerated), one.record(legs)]);
    const current = [...rerated, ...legs.slice(40)];
    const rows = usageRowsFrom(await one.rollups.at('t-legs', '2026-03', clock.now));
    expect(rows.legs).toBe(legs.length);
    expect(sorted(rows.rows)).toEqual(sorted(usageRowsOf(current)));
  });

  it('finishes a batch whose process died between storing the legs and the roll-up update', async () => {
    const db = client.db('crash');
    const clock = { now: at('2026-04-01T09:00:00Z') };
    const legs = storyMonth('t-legs', '2026-03', 23, 300);
    const dying = storeAt(db, clock);
    // The legs and the journal are stored; the process dies before the journal holds its deltas.
    vi.spyOn(dying.rollups.journal, 'updateOne').mockRejectedValueOnce(new Error('process killed'));
    await expect(dying.record(legs.slice(0, 200))).rejects.toThrow('process killed');
    // The next batch fails after its deltas were written, before the roll-up took them; the one
    // stored behind it in the pipeline is left to recovery with it, in order.
    vi.spyOn(dying.rollups, 'apply').mockRejectedValueOnce(new Error('process killed'));
    const [failed, behind] = await Promise.allSettled([
      dying.record(legs.slice(200, 250)),
      dying.record(legs.slice(250)),
    ]);
    expect(failed).toMatchObject({ status: 'rejected', reason: new Error('process killed') });
    // It carries the failure it waits behind: a store outage stays one (the consumer retries in place).
    expect(behind).toMatchObject({ status: 'rejected', reason: { cause: new Error('process killed') } });

    const next = storeAt(db, clock);
    // JetStream redelivers the unacknowledged messages: the versions exist, nothing is counted twice.
    expect(await next.record(legs)).toBe(0);
    expect(await next.recover()).toBe(0);
    clock.now = at('2026-04-01T09:01:01Z');
    expect(await next.recover()).toBe(3);
    expect(await next.recover()).toBe(0);
    const rows = usageRowsFrom(await next.rollups.at('t-legs', '2026-03', clock.now));
    expect(rows.legs).toBe(legs.length);
    expect(sorted(rows.rows)).toEqual(sorted(usageRowsOf(legs)));
  });
});
