import { describe, expect, it } from 'vitest';
import type { LegSource } from './legs.js';
import { billedSeconds, chargesOf, toAmount } from './pricing.js';
import { priceLeg, shareOf } from './rate-leg.js';
import { DEFAULT_TARIFF, parseTariffInput, TariffValidationError, type Tariff } from './tariff.js';

function leg(overrides: Partial<LegSource> & { seconds?: number }): LegSource {
  const answeredAt = overrides.answeredAt ?? new Date('2026-03-10T09:00:00Z');
  const { seconds = 0, ...rest } = overrides;
  return {
    tenantId: 't-amt',
    callId: 'c1',
    legId: 'l1',
    role: 'external',
    number: '+49301234567',
    siteId: 'site-1',
    createdAt: new Date(answeredAt.getTime() - 5_000),
    answeredAt,
    endedAt: new Date(answeredAt.getTime() + seconds * 1000),
    traceparent: '',
    ...rest,
  };
}

function tariff(overrides: Record<string, unknown> = {}, prices: unknown[] = []): Tariff {
  return parseTariffInput(
    {
      tariffId: 'amt',
      validFrom: '2026-01-01',
      validTo: '',
      prices,
      flags: { internalFree: true, forwardingFree: true, inboundFree: true },
      packages: 0,
      defaultSiteId: 'rathaus',
      ...overrides,
    },
    1,
  );
}

const fixed = (price: Record<string, unknown>) => ({
  destinationClass: 'de-fixed',
  pricePerMinute: 120,
  firstIncrementSeconds: 60,
  nextIncrementSeconds: 1,
  connectionFee: 0,
  timeOfDay: [],
  ...price,
});

describe('billing increments', () => {
  it.each([
    // [duration, first, next, billed]
    [0, 60, 60, 0],
    [1, 60, 60, 60],
    [60, 60, 60, 60],
    [61, 60, 60, 120],
    [125, 60, 60, 180],
    [1, 60, 1, 60],
    [59, 60, 1, 60],
    [61, 60, 1, 61],
    [125, 60, 1, 125],
    [1, 1, 1, 1],
    [61, 1, 1, 61],
    [3600, 1, 1, 3600],
    [31, 30, 6, 36],
  ])('%is at %i/%i bills %is', (duration, first, next, billed) => {
    expect(billedSeconds(duration, first, next)).toBe(billed);
  });

  it('applies the class increments and price to a leg', () => {
    const sixtySixty = tariff({}, [fixed({ firstIncrementSeconds: 60, nextIncrementSeconds: 60 })]);
    const priced = priceLeg(leg({ seconds: 61 }), sixtySixty);
    expect(priced).toMatchObject({ durationSeconds: 61, billedSeconds: 120, pool: 'de-fixed' });
    expect(shareOf(priced, 0)).toEqual({
      bundleSeconds: 0,
      overageSeconds: 120,
      amount: 240,
      charges: [{ pricePerMinute: 120, seconds: 120, amount: 240 }],
    });
    const oneOne = priceLeg(leg({ seconds: 61 }), tariff({}, [fixed({ firstIncrementSeconds: 1 })]));
    expect(shareOf(oneOne, 0)).toEqual({
      bundleSeconds: 0,
      overageSeconds: 61,
      amount: 122,
      charges: [{ pricePerMinute: 120, seconds: 61, amount: 122 }],
    });
  });

  it('rounds a fractional amount once per leg, half up', () => {
    const priced = priceLeg(leg({ seconds: 61 }), tariff({}, [fixed({ pricePerMinute: 100 })]));
    // 61 s × 100 / 60 = 101.67
    expect(shareOf(priced, 0).amount).toBe(102);
  });
});

describe('connection fee', () => {
  const withFee = tariff({}, [fixed({ connectionFee: 500 })]);

  it('is charged on an answered leg even when the bundle covers its minutes', () => {
    const priced = priceLeg(leg({ seconds: 30 }), withFee);
    expect(priced.connectionFee).toBe(500);
    expect(shareOf(priced, 10_000)).toEqual({ bundleSeconds: 60, overageSeconds: 0, amount: 500, charges: [] });
    expect(shareOf(priced, 0)).toMatchObject({
      amount: 500 + 120,
      charges: [{ pricePerMinute: 120, seconds: 60, amount: 120 }],
    });
  });

  it('is never charged on an unanswered leg', () => {
    const unanswered = priceLeg(leg({ answeredAt: undefined }), withFee);
    expect(unanswered).toMatchObject({ durationSeconds: 0, billedSeconds: 0, connectionFee: 0 });
    expect(shareOf(unanswered, 0)).toMatchObject({ amount: 0, charges: [] });
  });
});

describe('time-of-day prices (Europe/Berlin)', () => {
  // Day 120/min, 18:00–08:00 (wrapping midnight) 60/min, weekends 30/min all day.
  const tod = tariff({}, [
    fixed({
      firstIncrementSeconds: 1,
      timeOfDay: [
        { from: '18:00', to: '08:00', weekdays: [1, 2, 3, 4, 5], pricePerMinute: 60 },
        { from: '00:00', to: '24:00', weekdays: [6, 7], pricePerMinute: 30 },
      ],
    }),
  ]);

  it('splits a call crossing 18:00 Berlin (17:00 UTC in winter) at the boundary', () => {
    // Tuesday 2026-03-10 17:58:00 Berlin; 5 minutes: 2 at 120, 3 at 60.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T16:58:00Z'), seconds: 300 }), tod);
    expect(shareOf(priced, 0).amount).toBe(2 * 120 + 3 * 60);
  });

  it('uses summer time after the clocks change', () => {
    // Tuesday 2026-06-09 17:59:30 Berlin = 15:59:30 UTC; 90 s: 30 s at 120, 60 s at 60.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-06-09T15:59:30Z'), seconds: 90 }), tod);
    expect(shareOf(priced, 0).amount).toBe((30 * 120 + 60 * 60) / 60);
  });

  it('crosses midnight from Friday night into the weekend price', () => {
    // Friday 2026-03-13 23:59 Berlin; 2 minutes: 1 at 60 (night), 1 at 30 (Saturday).
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-13T22:59:00Z'), seconds: 120 }), tod);
    expect(shareOf(priced, 0).amount).toBe(60 + 30);
  });

  it('charges only the overage tail at the price of the time it falls in', () => {
    // 17:58 Berlin, 5 minutes, 3 minutes left in the bundle: the tail (18:01–18:03) is at night price.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T16:58:00Z'), seconds: 300 }), tod);
    expect(shareOf(priced, 180)).toEqual({
      bundleSeconds: 180,
      overageSeconds: 120,
      amount: 2 * 60,
      charges: [{ pricePerMinute: 60, seconds: 120, amount: 120 }],
    });
  });
});

describe('charges: what an amount is made of', () => {
  // Day 120/min, weekday nights 18:00–08:00 at 50/min (not divisible by 60: fractions of a unit).
  const tod = tariff({}, [
    fixed({
      firstIncrementSeconds: 1,
      connectionFee: 300,
      timeOfDay: [{ from: '18:00', to: '08:00', weekdays: [1, 2, 3, 4, 5], pricePerMinute: 50 }],
    }),
  ]);
  const sums = (share: ReturnType<typeof shareOf>) => ({
    seconds: share.charges.reduce((sum, charge) => sum + charge.seconds, 0),
    amount: share.charges.reduce((sum, charge) => sum + charge.amount, 0),
  });

  it('splits a leg across a time-of-day boundary into one entry per price, in start order', () => {
    // Tuesday 17:59:17 Berlin, 101 s: 43 s at 120 (86), 58 s at 50 (48.33); the leg 134.33 → 134.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T16:59:17Z'), seconds: 101 }), tod);
    const share = shareOf(priced, 0);
    expect(share.amount).toBe(300 + 134);
    expect(share.charges).toEqual([
      { pricePerMinute: 120, seconds: 43, amount: 86 },
      { pricePerMinute: 50, seconds: 58, amount: 48 },
    ]);
    expect(sums(share)).toEqual({ seconds: priced.billedSeconds, amount: share.amount - priced.connectionFee });
  });

  it('puts the rounding difference into the last entry, so the entries add up to the one rounding per leg', () => {
    // 17:59:30, 61 s: 30 s at 120 (60), 31 s at 50 (25.83); the leg: 85.83 → 86; alone 26 would be.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T16:59:30Z'), seconds: 61 }), tod);
    const share = shareOf(priced, 0);
    expect(share.amount - priced.connectionFee).toBe(86);
    expect(share.charges).toEqual([
      { pricePerMinute: 120, seconds: 30, amount: 60 },
      { pricePerMinute: 50, seconds: 31, amount: 26 },
    ]);
    // 17:59:51, 10 s: 9 s at 120 (18), 1 s at 50 (0.83): 18.83 → 19, the last entry takes 1.
    const short = shareOf(priceLeg(leg({ answeredAt: new Date('2026-03-10T16:59:51Z'), seconds: 10 }), tod), 0);
    expect(short.charges.map((charge) => charge.amount)).toEqual([18, 1]);
  });

  it('charges only the overage of a leg a pool partly covers, from where the bundle ends', () => {
    // 17:58 Berlin, 5 minutes, 100 s left in the bundle: 20 s at 120 (17:59:40–18:00), 180 s at 50.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T16:58:00Z'), seconds: 300 }), tod);
    const share = shareOf(priced, 100);
    expect(share).toMatchObject({ bundleSeconds: 100, overageSeconds: 200, amount: 300 + 40 + 150 });
    expect(share.charges).toEqual([
      { pricePerMinute: 120, seconds: 20, amount: 40 },
      { pricePerMinute: 50, seconds: 180, amount: 150 },
    ]);
    expect(sums(share)).toEqual({ seconds: share.overageSeconds, amount: share.amount - priced.connectionFee });
    expect(shareOf(priced, 300).charges).toEqual([]);
  });

  it('merges a price that comes back into its first entry', () => {
    // Tuesday 07:59 to Tuesday 18:01 at a night price that also holds before 08:00: 60 s + 60 s at 50.
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-10T06:59:00Z'), seconds: 10 * 3600 + 120 }), tod);
    const share = shareOf(priced, 0);
    expect(share.charges).toEqual([
      { pricePerMinute: 50, seconds: 120, amount: 100 },
      { pricePerMinute: 120, seconds: 36_000, amount: 72_000 },
    ]);
  });

  it('is empty on free and unanswered legs', () => {
    expect(shareOf(priceLeg(leg({ role: 'internal', seconds: 100 }), DEFAULT_TARIFF), 0).charges).toEqual([]);
    expect(shareOf(priceLeg(leg({ answeredAt: undefined }), tod), 0).charges).toEqual([]);
  });

  it('never gives an entry a negative amount, however the entries round', () => {
    // Three prices of half a unit each: alone 1 + 1 + ?, together round(1.5) = 2.
    const charges = chargesOf(
      [
        { pricePerMinute: 30, seconds: 1, priceSeconds: 30 },
        { pricePerMinute: 31, seconds: 1, priceSeconds: 31 },
        { pricePerMinute: 29, seconds: 1, priceSeconds: 29 },
      ],
      toAmount(90),
    );
    expect(charges.map((charge) => charge.amount)).toEqual([1, 1, 0]);
    const tight = chargesOf(
      [
        { pricePerMinute: 30, seconds: 1, priceSeconds: 30 },
        { pricePerMinute: 30, seconds: 1, priceSeconds: 30 },
        { pricePerMinute: 0, seconds: 1, priceSeconds: 0 },
      ],
      toAmount(60),
    );
    expect(tight.map((charge) => charge.amount)).toEqual([1, 0, 0]);
    expect(tight.every((charge) => charge.amount >= 0)).toBe(true);
  });
});

describe('leg roles and contract flags', () => {
  it('rates internal, inbound and home-office legs free under the default contract', () => {
    for (const role of ['internal', 'inbound', 'forwarded'] as const) {
      const priced = priceLeg(leg({ role, number: '+4915112345678', seconds: 100 }), DEFAULT_TARIFF);
      expect(shareOf(priced, 0).amount).toBe(0);
      expect(priced.pool).toBeUndefined();
    }
    const forwarded = priceLeg(leg({ role: 'forwarded', number: '0151 12345678', seconds: 10 }), DEFAULT_TARIFF);
    expect(forwarded).toMatchObject({ destinationClass: 'forwarded-home-office', destination: '+4915112345678' });
  });

  it('rates a home-office leg as a call to its number when forwarding is not free', () => {
    const paid = tariff({ flags: { internalFree: true, forwardingFree: false, inboundFree: true } }, [
      { ...fixed({}), destinationClass: 'de-mobile', pricePerMinute: 900 },
    ]);
    const priced = priceLeg(leg({ role: 'forwarded', number: '+4915112345678', seconds: 60 }), paid);
    expect(priced).toMatchObject({ destinationClass: 'de-mobile', pool: 'de-mobile' });
    expect(shareOf(priced, 0).amount).toBe(900);
  });

  it('charges the contract default site when the leg names none', () => {
    expect(priceLeg(leg({ siteId: '' }), tariff()).siteId).toBe('rathaus');
    expect(priceLeg(leg({ siteId: '' }), DEFAULT_TARIFF).siteId).toBe('unassigned');
  });

  it('charges a leg naming no site of the tenant to the default site, else to unassigned', () => {
    const sites = new Set(['rathaus', 'bauhof']);
    expect(priceLeg(leg({ siteId: 'bauhof' }), tariff(), sites)).toMatchObject({ siteId: 'bauhof', unknownSite: '' });
    expect(priceLeg(leg({ siteId: 'old-school' }), tariff(), sites)).toMatchObject({
      siteId: 'rathaus',
      unknownSite: 'old-school',
    });
    // A default site the directory no longer has is no better than none.
    expect(priceLeg(leg({ siteId: 'old-school' }), tariff(), new Set(['bauhof']))).toMatchObject({
      siteId: 'unassigned',
      unknownSite: 'old-school',
    });
    expect(priceLeg(leg({ siteId: 'old-school' }), DEFAULT_TARIFF, sites).siteId).toBe('unassigned');
    // Sites not known (directory unreachable): the leg keeps the site it names.
    expect(priceLeg(leg({ siteId: 'old-school' }), tariff(), undefined).siteId).toBe('old-school');
  });

  it('uses the answer time in Berlin for the billing month', () => {
    const priced = priceLeg(leg({ answeredAt: new Date('2026-03-31T22:30:00Z'), seconds: 10 }), DEFAULT_TARIFF);
    expect(priced.billingMonth).toBe('2026-04');
  });
});

describe('tariff validation', () => {
  it('names every bad field', () => {
    const attempt = () =>
      tariff({ validFrom: '2026-13-01', packages: -1 }, [
        fixed({ pricePerMinute: -5, firstIncrementSeconds: 0 }),
        fixed({ timeOfDay: [{ from: '25:00', to: '08:00', weekdays: [8], pricePerMinute: 1 }] }),
      ]);
    expect(attempt).toThrow(TariffValidationError);
    try {
      attempt();
    } catch (error) {
      const issues = (error as TariffValidationError).issues.join('\n');
      for (const field of [
        'validFrom',
        'packages',
        'prices.0.pricePerMinute',
        'prices.0.firstIncrementSeconds',
        'prices.1.timeOfDay.0.from',
        'prices.1.timeOfDay.0.weekdays.0',
      ]) {
        expect(issues).toContain(`${field}:`);
      }
    }
  });

  it('rejects a class listed twice and an end before the start', () => {
    expect(() => tariff({ validTo: '2025-12-31' }, [fixed({}), fixed({})])).toThrow(
      /validTo: must be after validFrom; prices.1.destinationClass: listed twice/,
    );
  });
});
