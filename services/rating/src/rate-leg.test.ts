import { describe, expect, it } from 'vitest';
import type { LegSource } from './legs.js';
import { billedSeconds } from './pricing.js';
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
    expect(shareOf(priced, 0)).toEqual({ bundleSeconds: 0, overageSeconds: 120, amount: 240 });
    const oneOne = priceLeg(leg({ seconds: 61 }), tariff({}, [fixed({ firstIncrementSeconds: 1 })]));
    expect(shareOf(oneOne, 0)).toEqual({ bundleSeconds: 0, overageSeconds: 61, amount: 122 });
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
    expect(shareOf(priced, 10_000)).toEqual({ bundleSeconds: 60, overageSeconds: 0, amount: 500 });
    expect(shareOf(priced, 0).amount).toBe(500 + 120);
  });

  it('is never charged on an unanswered leg', () => {
    const unanswered = priceLeg(leg({ answeredAt: undefined }), withFee);
    expect(unanswered).toMatchObject({ durationSeconds: 0, billedSeconds: 0, connectionFee: 0 });
    expect(shareOf(unanswered, 0).amount).toBe(0);
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
    expect(shareOf(priced, 180)).toEqual({ bundleSeconds: 180, overageSeconds: 120, amount: 2 * 60 });
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
