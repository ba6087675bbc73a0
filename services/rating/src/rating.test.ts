import * as grpc from '@grpc/grpc-js';
import { RatingEvents } from '@switchboard/events';
import { callV1, type ratingServiceV1, type ratingV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMonth } from '../test/generate-month.js';
import { startHarness, type Harness } from '../test/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const tariffFor = (packages: number, extra: Partial<ratingServiceV1.Tariff> = {}): ratingServiceV1.Tariff => ({
  tariffId: 'amt-2026',
  version: 0,
  validFrom: '2026-01-01',
  validTo: '',
  // Prices divisible by 60, so expected amounts are exact per second.
  prices: [
    {
      destinationClass: 'de-fixed',
      pricePerMinute: '120',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'de-mobile',
      pricePerMinute: '900',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'international-eu',
      pricePerMinute: '1200',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'international-world',
      pricePerMinute: '6000',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 60,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'directory',
      pricePerMinute: '18000',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 60,
      connectionFee: '600',
      timeOfDay: [],
    },
    {
      destinationClass: 'public-service',
      pricePerMinute: '120',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
  ],
  flags: { internalFree: true, forwardingFree: true, inboundFree: true },
  packages,
  defaultSiteId: 'site-01',
  ...extra,
});

const usage = (tenantId: string, month: string) =>
  h.rpc<ratingServiceV1.GetUsageRequest, ratingServiceV1.GetUsageResponse>(
    'getUsage',
    { tenantId, month, asOf: new Date('2026-03-16T00:00:00Z') },
    tenantId,
  );

/** The newest rating version of each leg, as billing keeps them. */
function latestLegs(events: readonly ratingV1.CdrRated[]): ratingV1.RatedLeg[] {
  const latest = new Map<string, ratingV1.RatedLeg>();
  for (const { leg } of events) {
    if (!leg) continue;
    const key = `${leg.callId}:${leg.legId}`;
    const seen = latest.get(key);
    if (!seen || seen.ratingVersion < leg.ratingVersion) latest.set(key, leg);
  }
  return [...latest.values()];
}

function billed(seconds: number): number {
  return seconds <= 0 ? 0 : Math.max(seconds, 60);
}

describe('a generated month shaped like the story', () => {
  const tenantId = 't-amt';
  const month = '2026-03';
  const calls = generateMonth({ tenantId, month, calls: 3000, sites: 47, seed: 47 });

  beforeAll(async () => {
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(1) }, tenantId);
    await h.publishCalls(calls);
    await h.settled();
  }, 300_000);

  it('is about 3000 calls and 10,000 minutes across 47 sites, internal and forwarded included', () => {
    const legs = calls.flatMap((call) => call.legs);
    const answeredSeconds = (kind: callV1.LegKind) =>
      legs
        .filter((leg) => leg.kind === kind && leg.answeredAt && leg.endedAt)
        .reduce((sum, leg) => sum + (leg.endedAt!.getTime() - leg.answeredAt!.getTime()) / 1000, 0);
    const minutes =
      (answeredSeconds(callV1.LegKind.LEG_KIND_INTERNAL) +
        answeredSeconds(callV1.LegKind.LEG_KIND_EXTERNAL) +
        answeredSeconds(callV1.LegKind.LEG_KIND_FORWARDED_HOME_OFFICE)) /
      60;
    expect(calls).toHaveLength(3000);
    expect(minutes).toBeGreaterThan(8_500);
    expect(minutes).toBeLessThan(11_500);
    expect(answeredSeconds(callV1.LegKind.LEG_KIND_FORWARDED_HOME_OFFICE)).toBeGreaterThan(0);
    expect(new Set(legs.map((leg) => leg.tags['site_id']).filter(Boolean)).size).toBe(47);
  });

  it('draws the bundles exactly and charges exactly the overage', async () => {
    const expected = { 'de-fixed': 0, 'de-mobile': 0 } as Record<string, number>;
    for (const call of calls) {
      for (const leg of call.legs) {
        if (leg.kind !== callV1.LegKind.LEG_KIND_EXTERNAL || !leg.answeredAt || !leg.endedAt) continue;
        const pool =
          leg.to.startsWith('+4915') || leg.to.startsWith('+4916') || leg.to.startsWith('+4917')
            ? 'de-mobile'
            : leg.to.startsWith('+49') && !leg.to.startsWith('+49800')
              ? 'de-fixed'
              : undefined;
        if (pool) expected[pool]! += billed((leg.endedAt.getTime() - leg.answeredAt.getTime()) / 1000);
      }
    }
    const result = await usage(tenantId, month);
    const fixed = result.pools.find((pool) => pool.pool === 'de-fixed')!;
    const mobile = result.pools.find((pool) => pool.pool === 'de-mobile')!;
    expect(Number(fixed.usedSeconds)).toBe(expected['de-fixed']);
    expect(Number(mobile.usedSeconds)).toBe(expected['de-mobile']);
    expect(fixed.capacitySeconds).toBe('60000');
    expect(mobile.capacitySeconds).toBe('42000');
    // The story: both pools run out, the overage is small and charged per second at the class price.
    expect(Number(fixed.overageSeconds)).toBe(expected['de-fixed']! - 60_000);
    expect(Number(mobile.overageSeconds)).toBe(expected['de-mobile']! - 42_000);
    expect(fixed.remainingSeconds).toBe('0');
    expect(Number(fixed.overageAmount)).toBe(Number(fixed.overageSeconds) * 2);
    expect(Number(mobile.overageAmount)).toBe(Number(mobile.overageSeconds) * 15);
    // As of 2026-03-16 00:00 UTC, 361 of the month's 743 hours (CET, then CEST from 29 March) are past.
    const factor = 743 / 361;
    expect(Number(fixed.forecastUsedSeconds)).toBe(Math.round(expected['de-fixed']! * factor));
    expect(Number(fixed.forecastOverageSeconds)).toBe(Math.round(expected['de-fixed']! * factor) - 60_000);
    expect(Number(fixed.forecastOverageAmount)).toBe(2 * Number(fixed.forecastOverageSeconds));
    expect(Number(result.forecastAmount)).toBeGreaterThanOrEqual(Number(result.amount));
  });

  it('publishes one rated leg per billable leg whose amounts add up to the usage', async () => {
    const published = await h.readAll(RatingEvents.cdrRated, tenantId);
    const legs = latestLegs(published);
    const billable = calls.flatMap((call) =>
      call.legs.filter(
        (leg) =>
          leg.kind !== callV1.LegKind.LEG_KIND_CALLER || call.direction === callV1.CallDirection.CALL_DIRECTION_INBOUND,
      ),
    );
    expect(published).toHaveLength(billable.length);
    expect(legs).toHaveLength(billable.length);
    const result = await usage(tenantId, month);
    expect(legs.reduce((sum, leg) => sum + Number(leg.amount), 0)).toBe(Number(result.amount));
    for (const pool of ['de-fixed', 'de-mobile']) {
      const ofPool = legs.filter((leg) => leg.pool === pool);
      const poolUsage = result.pools.find((entry) => entry.pool === pool)!;
      expect(ofPool.reduce((sum, leg) => sum + leg.bundleSeconds, 0)).toBe(Number(poolUsage.capacitySeconds));
      expect(ofPool.reduce((sum, leg) => sum + leg.overageSeconds, 0)).toBe(Number(poolUsage.overageSeconds));
    }
    expect(new Set(legs.map((leg) => leg.siteId)).size).toBe(47);
    expect(legs.every((leg) => leg.siteId.startsWith('site-') && leg.billingMonth === month)).toBe(true);
  });

  it('publishes each pool threshold once', async () => {
    const thresholds = await h.readAll(RatingEvents.poolThresholdReached, tenantId);
    expect(thresholds.map((event) => `${event.pool}:${event.thresholdPercent}`).sort()).toEqual([
      'de-fixed:100',
      'de-fixed:80',
      'de-mobile:100',
      'de-mobile:80',
    ]);
    expect(
      thresholds.every(
        (event) => event.meta?.eventId === `${tenantId}:${month}:${event.pool}:${event.thresholdPercent}`,
      ),
    ).toBe(true);
  });

  it('keeps every leg in exactly one slot of its pool', async () => {
    const slots = await h.db
      .collection('rating_pool_slots')
      .countDocuments({ _id: { $regex: `^${tenantId}:` } } as object);
    const published = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(slots).toBe(published.filter((leg) => leg.pool).length);
  });
});

describe('delivery twice, in another order', () => {
  const month = '2026-03';
  const once = generateMonth({ tenantId: 't-once', month, calls: 300, sites: 5, seed: 7 });
  const twice = generateMonth({ tenantId: 't-twice', month, calls: 300, sites: 5, seed: 7 });

  it('gives the same usage and rated legs as delivery once', async () => {
    await h.rpc('setTariff', { tenantId: 't-once', tariff: tariffFor(0) }, 't-once');
    await h.rpc('setTariff', { tenantId: 't-twice', tariff: tariffFor(0) }, 't-twice');
    // Second copies carry new event ids, so only rating's own keys can keep them from counting.
    const copies = twice.map((call) => ({ ...call, meta: { ...call.meta!, eventId: `${call.meta!.eventId}:again` } }));
    const interleaved = twice.flatMap((call, index) => [call, copies[twice.length - 1 - index]!]);
    await h.publishCalls(once);
    await h.publishCalls(interleaved);
    await h.settled();

    const strip = (response: ratingServiceV1.GetUsageResponse) => ({ ...response, tenantId: '' });
    expect(strip(await usage('t-twice', month))).toEqual(strip(await usage('t-once', month)));
    const legsOnce = latestLegs(await h.readAll(RatingEvents.cdrRated, 't-once'));
    const legsTwice = latestLegs(await h.readAll(RatingEvents.cdrRated, 't-twice'));
    expect(legsTwice).toHaveLength(legsOnce.length);
    const total = (legs: ratingV1.RatedLeg[]) => legs.reduce((sum, leg) => sum + Number(leg.amount), 0);
    expect(total(legsTwice)).toBe(total(legsOnce));
    expect(total(legsOnce)).toBeGreaterThan(0);
  }, 240_000);
});

describe('RatingService API', () => {
  it('rejects a bad tariff naming every bad field, and bad months', async () => {
    const bad = tariffFor(-1, { validFrom: '2026-02-30x', tariffId: '' });
    bad.prices[0] = { ...bad.prices[0]!, pricePerMinute: '-5', firstIncrementSeconds: 0 };
    const error = await h.rpc('setTariff', { tenantId: 't-api', tariff: bad }, 't-api').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const details = (error as grpc.ServiceError).details;
    for (const field of [
      'tariffId',
      'validFrom',
      'packages',
      'prices.0.pricePerMinute',
      'prices.0.firstIncrementSeconds',
    ]) {
      expect(details).toContain(`${field}:`);
    }
    await expect(h.rpc('getUsage', { tenantId: 't-api', month: '2026-13' }, 't-api')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'month: must be YYYY-MM, got "2026-13"',
    });
  });

  it("denies one tenant's admin another tenant's usage and tariffs", async () => {
    await expect(h.rpc('getUsage', { tenantId: 't-amt', month: '2026-03' }, 't-api')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(h.rpc('setTariff', { tenantId: 't-amt', tariff: tariffFor(9) }, 't-api')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
  });

  it('lists the default tariff for a tenant without one, and versions newest first', async () => {
    const none = await h.rpc<ratingServiceV1.ListTariffsRequest, ratingServiceV1.ListTariffsResponse>(
      'listTariffs',
      { tenantId: 't-api' },
      't-api',
    );
    expect(none.isDefault).toBe(true);
    expect(none.tariffs[0]?.tariffId).toBe('default');
    await h.rpc('setTariff', { tenantId: 't-api', tariff: tariffFor(1) }, 't-api');
    await h.rpc('setTariff', { tenantId: 't-api', tariff: tariffFor(2, { validFrom: '2026-04-01' }) }, 't-api');
    const listed = await h.rpc<ratingServiceV1.ListTariffsRequest, ratingServiceV1.ListTariffsResponse>(
      'listTariffs',
      { tenantId: 't-api' },
      't-api',
    );
    expect(listed.isDefault).toBe(false);
    expect(listed.tariffs.map((tariff) => [tariff.version, tariff.validFrom, tariff.packages])).toEqual([
      [2, '2026-04-01', 2],
      [1, '2026-01-01', 1],
    ]);
  });

  it('classifies numbers', async () => {
    const response = await h.rpc<ratingServiceV1.ClassifyNumbersRequest, ratingServiceV1.ClassifyNumbersResponse>(
      'classifyNumbers',
      { numbers: ['110', '0151 12345678', '4930123456'] },
      't-api',
    );
    expect(response.results.map((result) => result.destinationClass)).toEqual(['emergency', 'de-mobile', 'invalid']);
  });

  it('rerates a month after a tariff change: a new version the totals follow, the old one kept', async () => {
    const tenantId = 't-once';
    const month = '2026-03';
    const before = await usage(tenantId, month);
    // Fixed-network minutes now cost 240 instead of 120: the fixed overage doubles.
    const dearer = tariffFor(0, { validFrom: '2026-03-01' });
    dearer.prices[0] = { ...dearer.prices[0]!, pricePerMinute: '240' };
    await h.rpc('setTariff', { tenantId, tariff: dearer }, tenantId);
    const rerated = await h.rpc<ratingServiceV1.RerateMonthRequest, ratingServiceV1.RerateMonthResponse>(
      'rerateMonth',
      { tenantId, month },
      tenantId,
    );
    expect(rerated).toMatchObject({ ratingVersion: 2, previousRatingVersion: 1 });
    const after = await usage(tenantId, month);
    expect(after.ratingVersion).toBe(2);
    const fixed = (response: ratingServiceV1.GetUsageResponse) =>
      response.pools.find((pool) => pool.pool === 'de-fixed')!;
    const mobile = (response: ratingServiceV1.GetUsageResponse) =>
      response.pools.find((pool) => pool.pool === 'de-mobile')!;
    expect(Number(fixed(after).overageAmount)).toBe(2 * Number(fixed(before).overageAmount));
    expect(mobile(after)).toEqual(mobile(before));
    const legs = h.db.collection('rating_legs');
    expect(await legs.countDocuments({ tenantId, ratingVersion: 1 })).toBe(Number(rerated.legs));
    expect(await legs.countDocuments({ tenantId, ratingVersion: 2 })).toBe(Number(rerated.legs));
    const latest = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(latest.every((leg) => leg.ratingVersion === 2 && leg.tariffVersion === 2)).toBe(true);
    expect(latest.reduce((sum, leg) => sum + Number(leg.amount), 0)).toBe(Number(after.amount));
  });
});

describe('recovery', () => {
  const month = '2026-03';

  it('after a restart, redelivered events find their stored legs and change nothing', async () => {
    const tenantId = 't-restart';
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(0) }, tenantId);
    const calls = generateMonth({ tenantId, month, calls: 60, sites: 3, seed: 11 });
    await h.publishCalls(calls);
    await h.settled();
    const before = await usage(tenantId, month);
    const published = (await h.nats.jsm.streams.info('CDRS')).state.messages;
    await h.restart();
    await h.publishCalls(
      calls.map((call) => ({ ...call, meta: { ...call.meta!, eventId: `${call.meta!.eventId}:r` } })),
    );
    await h.settled();
    expect(await usage(tenantId, month)).toEqual(before);
    expect((await h.nats.jsm.streams.info('CDRS')).state.messages).toBe(published);
  });

  it('re-rates a leg stored before a crash whose slot another leg took meanwhile, drawing it once', async () => {
    const tenantId = 't-crash';
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(1) }, tenantId);
    const call = (callId: string, answered: string, seconds: number): callV1.CallEnded => ({
      meta: { eventId: `${tenantId}:${callId}`, tenantId, occurredAt: new Date(), producer: 'test', trace: undefined },
      callId,
      direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND,
      startedAt: new Date(answered),
      endedAt: new Date(new Date(answered).getTime() + seconds * 1000),
      endedBy: 'caller',
      legs: [
        {
          legId: `${callId}-ext`,
          channelId: 'ch',
          kind: callV1.LegKind.LEG_KIND_EXTERNAL,
          endpoint: 'PJSIP/trunk',
          from: '+4946248000',
          to: '+49301234567',
          createdAt: new Date(answered),
          answeredAt: new Date(answered),
          endedAt: new Date(new Date(answered).getTime() + seconds * 1000),
          disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED,
          hangupCause: 16,
          hangupCauseText: 'Normal Clearing',
          tags: { site_id: 'site-01' },
          state: callV1.LegState.LEG_STATE_ENDED,
        },
      ],
    });
    // A replica stored leg x in slot 1 and died before claiming the slot.
    const legs = h.db.collection('rating_legs');
    await legs.insertOne({
      _id: `${tenantId}:x:x-ext:1`,
      tenantId,
      callId: 'x',
      legId: 'x-ext',
      ratingVersion: 1,
      billingMonth: month,
      pool: 'de-fixed',
      seq: 1,
      poolBilledAfter: 120,
      billedSeconds: 120,
      bundleSeconds: 120,
      overageSeconds: 0,
      amount: 0,
      connectionFee: 0,
      destinationClass: 'de-fixed',
      source: {},
    } as object);
    await h.publishCalls([call('y', '2026-03-02T09:00:00Z', 300)]);
    await h.settled();
    await h.publishCalls([call('x', '2026-03-02T08:00:00Z', 120)]);
    await h.settled();

    const result = await usage(tenantId, month);
    const fixed = result.pools.find((pool) => pool.pool === 'de-fixed')!;
    expect(fixed.usedSeconds).toBe('420');
    const rated = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(rated.map((leg) => [leg.callId, leg.bundleSeconds])).toEqual([
      ['y', 300],
      ['x', 120],
    ]);
    expect(await legs.countDocuments({ tenantId })).toBe(2);
  });

  it('parks a call-ended event with a leg of unknown kind in the DLQ and rates nothing of it', async () => {
    const tenantId = 't-poison';
    const [call] = generateMonth({ tenantId, month, calls: 1, sites: 1, seed: 3 });
    call!.legs[0]!.kind = callV1.LegKind.LEG_KIND_UNSPECIFIED;
    await h.publishCalls([call!]);
    await h.settled();
    const subject = `sb.${tenantId}.dlq.rating-call-ended`;
    const dlq = await h.nats.jsm.streams.info('DLQ', { subjects_filter: subject });
    expect(dlq.state.subjects?.[subject]).toBe(1);
    expect(await h.db.collection('rating_legs').countDocuments({ tenantId })).toBe(0);
  });
});
