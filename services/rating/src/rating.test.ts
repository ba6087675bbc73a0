import * as grpc from '@grpc/grpc-js';
import { RatingEvents } from '@switchboard/events';
import { callV1, type ratingServiceV1, type ratingV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMonth } from '../test/generate-month.js';
import { startHarness, type Harness } from '../test/harness.js';
import { tariffFor } from '../test/tariffs.js';
import { decodeLegs, encodeLegs, openStore, type BatchDoc, type RatedLegRecord } from './store.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
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

/** One outbound call to a fixed-network number, answered at `answered`, with one external leg. */
function callOf(
  tenantId: string,
  callId: string,
  answered: string,
  seconds: number,
  site = 'site-01',
): callV1.CallEnded {
  const start = new Date(answered);
  const end = new Date(start.getTime() + seconds * 1000);
  return {
    meta: { eventId: `${tenantId}:${callId}`, tenantId, occurredAt: new Date(), producer: 'test', trace: undefined },
    callId,
    direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND,
    startedAt: start,
    endedAt: end,
    endedBy: 'caller',
    legs: [
      {
        legId: `${callId}-ext`,
        channelId: 'ch',
        kind: callV1.LegKind.LEG_KIND_EXTERNAL,
        endpoint: 'PJSIP/trunk',
        from: '+4946248000',
        to: '+49301234567',
        createdAt: start,
        answeredAt: start,
        endedAt: end,
        disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED,
        hangupCause: 16,
        hangupCauseText: 'Normal Clearing',
        tags: site ? { site_id: site } : {},
        state: callV1.LegState.LEG_STATE_ENDED,
      },
    ],
  };
}

/** The links of a tenant's chains (all months, or one version) and the legs their pages hold, as stored. */
async function stored(
  tenantId: string,
  ratingVersion?: number,
): Promise<{ links: BatchDoc[]; legs: RatedLegRecord[] }> {
  const store = openStore(h.db);
  const filter = ratingVersion === undefined ? { tenantId } : { tenantId, ratingVersion };
  const links = (await store.batches.find(filter).toArray()).sort(
    (a, b) => a.ratingVersion - b.ratingVersion || a.seq - b.seq,
  );
  const pages = new Map((await store.pages.find(filter).toArray()).map((page) => [page._id, page]));
  return { links, legs: links.flatMap((link) => decodeLegs(pages.get(link.page)!)) };
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

  it('says what each amount is made of: charges add up to the charged seconds and the amount less the fee', async () => {
    const legs = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    const charged = legs.filter((leg) => leg.charges.length > 0);
    expect(charged.length).toBeGreaterThan(100);
    for (const leg of legs) {
      const seconds = leg.charges.reduce((sum, charge) => sum + charge.seconds, 0);
      const amount = leg.charges.reduce((sum, charge) => sum + Number(charge.amount), 0);
      expect(amount).toBe(Number(leg.amount) - Number(leg.connectionFee));
      if (leg.charges.length) expect(seconds).toBe(leg.pool ? leg.overageSeconds : leg.billedSeconds);
    }
    // A leg the bundle covers has no charges; the one the bundle runs out on charges its overage only.
    const pooled = legs.filter((leg) => leg.pool === 'de-fixed');
    expect(pooled.some((leg) => leg.bundleSeconds === leg.billedSeconds && leg.charges.length === 0)).toBe(true);
    const split = pooled.find((leg) => leg.bundleSeconds > 0 && leg.overageSeconds > 0)!;
    expect(split.charges).toEqual([
      { pricePerMinute: '120', seconds: split.overageSeconds, amount: String(split.overageSeconds * 2) },
    ]);
    const directory = legs.find((leg) => leg.destinationClass === 'directory' && leg.billedSeconds > 0)!;
    expect(directory).toMatchObject({ connectionFee: '600' });
    expect(directory.charges).toEqual([
      { pricePerMinute: '18000', seconds: directory.billedSeconds, amount: String(Number(directory.amount) - 600) },
    ]);
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

  it('keeps every leg in exactly one link of its chain, the pools drawn in ranges without gaps', async () => {
    const { links, legs } = await stored(tenantId);
    const published = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(links.map((link) => link.seq)).toEqual(links.map((_, index) => index + 1));
    expect(legs).toHaveLength(published.length);
    expect(new Set(legs.map((leg) => `${leg.callId}:${leg.legId}`)).size).toBe(published.length);
    for (const pool of ['de-fixed', 'de-mobile'] as const) {
      links.reduce((end, link) => {
        expect(link.pools[pool].from).toBe(end);
        return link.pools[pool].to;
      }, 0);
      const pooled = legs.filter((leg) => leg.pool === pool);
      expect(links.at(-1)!.pools[pool].to).toBe(pooled.reduce((sum, leg) => sum + leg.billedSeconds, 0));
    }
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
    // Found by tests/fuzz: a time whose Berlin month is in the year 10000 (was INTERNAL).
    const asOf = new Date(Date.UTC(9999, 11, 31, 23, 30));
    await expect(h.rpc('getUsage', { tenantId: 't-api', month: '', asOf }, 't-api')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^as_of: must be a time in a billing month/),
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

  it("refuses an agent's rerate and tariff before validation; finance reads usage and tariffs but changes none", async () => {
    const denied = (role: string, method: string) => ({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringMatching(new RegExp(`^${role} may not call RatingService/${method} `)),
    });
    await expect(h.rpc('rerateMonth', { tenantId: 't-api', month: '2026-02' }, 't-api', 'agent')).rejects.toMatchObject(
      denied('agent', 'RerateMonth'),
    );
    // An invalid tariff: the agent is refused by the policy, not by validation.
    const bad = tariffFor(-1, { validFrom: 'never' });
    await expect(h.rpc('setTariff', { tenantId: 't-api', tariff: bad }, 't-api', 'agent')).rejects.toMatchObject(
      denied('agent', 'SetTariff'),
    );
    await expect(h.rpc('setTariff', { tenantId: 't-api', tariff: bad }, 't-api', 'finance')).rejects.toMatchObject(
      denied('finance', 'SetTariff'),
    );
    await expect(
      h.rpc('rerateMonth', { tenantId: 't-api', month: '2026-02' }, 't-api', 'finance'),
    ).rejects.toMatchObject(denied('finance', 'RerateMonth'));
    const used = await h.rpc<ratingServiceV1.GetUsageRequest, ratingServiceV1.GetUsageResponse>(
      'getUsage',
      { tenantId: 't-api', month: '2026-03', asOf: undefined },
      't-api',
      'finance',
    );
    expect(used.month).toBe('2026-03');
    const tariffs = await h.rpc<ratingServiceV1.ListTariffsRequest, ratingServiceV1.ListTariffsResponse>(
      'listTariffs',
      { tenantId: 't-api' },
      't-api',
      'finance',
    );
    expect(tariffs.tariffs.length).toBeGreaterThan(0);
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
    expect((await stored(tenantId, 1)).legs).toHaveLength(Number(rerated.legs));
    expect((await stored(tenantId, 2)).legs).toHaveLength(Number(rerated.legs));
    const latest = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(latest.every((leg) => leg.ratingVersion === 2 && leg.tariffVersion === 2)).toBe(true);
    expect(latest.reduce((sum, leg) => sum + Number(leg.amount), 0)).toBe(Number(after.amount));
  });
});

describe("sites (the directory's)", () => {
  it('refuses a default site the tenant does not have, and a tariff with one while the directory cannot tell', async () => {
    const tenantId = 't-sites';
    h.directory.setSites(tenantId, ['rathaus', 'bauhof']);
    const error = await h
      .rpc('setTariff', { tenantId, tariff: tariffFor(0, { defaultSiteId: 'schule' }) }, tenantId)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((error as grpc.ServiceError).details).toContain('defaultSiteId: "schule" is not a site of tenant t-sites');
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(0, { defaultSiteId: 'rathaus' }) }, tenantId);

    const down = 't-sites-down';
    h.directory.setDown(down, true);
    await expect(
      h.rpc('setTariff', { tenantId: down, tariff: tariffFor(0, { defaultSiteId: 'site-01' }) }, down),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    // A tariff without a default site needs no answer from the directory.
    await h.rpc('setTariff', { tenantId: down, tariff: tariffFor(0, { defaultSiteId: '' }) }, down);
    h.directory.setDown(down, false);
  });

  it('rates a leg naming no site of the tenant to the default site, else to unassigned: counted, never parked', async () => {
    const tenantId = 't-sites-legs';
    const bare = 't-sites-bare';
    h.directory.setSites(tenantId, ['rathaus', 'bauhof']);
    h.directory.setSites(bare, ['rathaus']);
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(0, { defaultSiteId: 'rathaus' }) }, tenantId);
    await h.rpc('setTariff', { tenantId: bare, tariff: tariffFor(0, { defaultSiteId: '' }) }, bare);
    await h.publishCalls([
      callOf(tenantId, 'known', '2026-03-03T09:00:00Z', 60, 'bauhof'),
      callOf(tenantId, 'gone', '2026-03-03T09:05:00Z', 60, 'schule'),
      callOf(tenantId, 'none', '2026-03-03T09:10:00Z', 60, ''),
      callOf(bare, 'gone', '2026-03-03T09:15:00Z', 60, 'schule'),
    ]);
    await h.settled();
    const sites = (id: string) =>
      h.readAll(RatingEvents.cdrRated, id).then((events) => events.map(({ leg }) => [leg!.callId, leg!.siteId]));
    expect(await sites(tenantId)).toEqual([
      ['known', 'bauhof'],
      ['gone', 'rathaus'],
      ['none', 'rathaus'],
    ]);
    expect(await sites(bare)).toEqual([['gone', 'unassigned']]);
    const dlq = await h.nats.jsm.streams.info('DLQ', { subjects_filter: 'sb.t-sites*.dlq.>' });
    expect(Object.keys(dlq.state.subjects ?? {})).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${h.service.httpPort}/metrics`)).text();
    const counted = (tenant: string, ratedTo: string) =>
      metrics
        .split('\n')
        .find(
          (line) =>
            line.startsWith('rating_legs_unknown_site_total{') &&
            line.includes(`tenant="${tenant}"`) &&
            line.includes(`rated_to="${ratedTo}"`),
        )
        ?.split(' ')
        .at(-1);
    expect(counted(tenantId, 'default')).toBe('1');
    expect(counted(bare, 'unassigned')).toBe('1');
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

  it('never reads a page whose link was not written (a crash or a lost race): its legs are rated once', async () => {
    const tenantId = 't-crash';
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(1) }, tenantId);
    // A replica wrote the page for link 1 of the month with leg x, then died before the link.
    const x: RatedLegRecord = {
      tenantId,
      callId: 'x',
      legId: 'x-ext',
      ratingVersion: 1,
      billingMonth: month,
      siteId: 'site-01',
      startedAt: new Date('2026-03-02T08:00:00Z'),
      destination: '+49301234567',
      destinationClass: 'de-fixed',
      durationSeconds: 120,
      billedSeconds: 120,
      pool: 'de-fixed',
      poolBilledAfter: 120,
      bundleSeconds: 120,
      overageSeconds: 0,
      connectionFee: 0,
      amount: 0,
      charges: [],
      tariffId: 'amt-2026',
      tariffVersion: 1,
      source: {
        tenantId,
        callId: 'x',
        legId: 'x-ext',
        role: 'external',
        number: '+49301234567',
        siteId: 'site-01',
        createdAt: new Date('2026-03-02T08:00:00Z'),
        answeredAt: new Date('2026-03-02T08:00:00Z'),
        endedAt: new Date('2026-03-02T08:02:00Z'),
        traceparent: '',
      },
    };
    await openStore(h.db).pages.insertOne({
      _id: `${tenantId}:${month}:1:000000001:dead`,
      tenantId,
      billingMonth: month,
      ratingVersion: 1,
      legs: encodeLegs([x]),
      format: 1,
    });
    await h.publishCalls([callOf(tenantId, 'y', '2026-03-02T09:00:00Z', 300)]);
    await h.settled();
    await h.publishCalls([callOf(tenantId, 'x', '2026-03-02T08:00:00Z', 120)]);
    await h.settled();

    const result = await usage(tenantId, month);
    const fixed = result.pools.find((pool) => pool.pool === 'de-fixed')!;
    expect(fixed.usedSeconds).toBe('420');
    const rated = latestLegs(await h.readAll(RatingEvents.cdrRated, tenantId));
    expect(rated.map((leg) => [leg.callId, leg.bundleSeconds])).toEqual([
      ['y', 300],
      ['x', 120],
    ]);
    expect((await stored(tenantId)).legs.map((leg) => leg.callId)).toEqual(['y', 'x']);
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
    expect((await stored(tenantId)).legs).toHaveLength(0);
  });
});

// Last: shutting a replica down in this process also stops the process's telemetry (one SDK per process).
describe('two replicas on one durable', () => {
  it('rate a month as one replica does: every leg once, the same usage', async () => {
    const month = '2026-03';
    const one = generateMonth({ tenantId: 't-one-replica', month, calls: 600, sites: 5, seed: 9 });
    const two = generateMonth({ tenantId: 't-two-replicas', month, calls: 600, sites: 5, seed: 9 });
    await h.rpc('setTariff', { tenantId: 't-one-replica', tariff: tariffFor(0) }, 't-one-replica');
    await h.rpc('setTariff', { tenantId: 't-two-replicas', tariff: tariffFor(0) }, 't-two-replicas');
    await h.publishCalls(one);
    await h.settled();
    const second = await h.replica();
    try {
      await h.publishCalls(two);
      await h.settled();
    } finally {
      await second.shutdown('test over');
    }
    const strip = (response: ratingServiceV1.GetUsageResponse) => ({ ...response, tenantId: '' });
    expect(strip(await usage('t-two-replicas', month))).toEqual(strip(await usage('t-one-replica', month)));
    const { links, legs } = await stored('t-two-replicas');
    expect(links.map((link) => link.seq)).toEqual(links.map((_, index) => index + 1));
    expect(new Set(legs.map((leg) => `${leg.callId}:${leg.legId}`)).size).toBe(legs.length);
    expect(legs).toHaveLength((await stored('t-one-replica')).legs.length);
  }, 240_000);
});
