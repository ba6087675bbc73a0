import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STORY_PACKAGES, storyMonth, storyProfile } from '../test/story-month.js';
import { buildInvoice, priceTimesQuantityCents, type CorrectionRow, type UsageRow } from './invoice.js';
import { toCents, vatCents } from './money.js';
import { usageRowsOf } from './sums.js';
import { ALLOCATION_METHODS, parseProfile, type AllocationMethod, type BillingProfile } from './profile.js';
import { profileInput, wireProfile } from './wire.js';

function usageOf(tenantId: string, seed: number): UsageRow[] {
  return usageRowsOf(storyMonth(tenantId, '2026-03', seed));
}

function expectExact(profile: BillingProfile, usage: UsageRow[]): void {
  const invoice = buildInvoice(profile, STORY_PACKAGES, '2026-03', usage, []);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  expect(sum(invoice.lines.map((line) => line.netCents))).toBe(invoice.netCents);
  expect(sum(invoice.allocation.map((share) => share.netCents))).toBe(invoice.netCents);
  expect(sum(invoice.allocation.map((share) => share.vatCents))).toBe(invoice.vatCents);
  expect(sum(invoice.allocation.map((share) => share.grossCents))).toBe(invoice.grossCents);
  invoice.lines.forEach((line, index) =>
    expect(sum(invoice.allocation.map((share) => share.lineNetCents[index] ?? 0))).toBe(line.netCents),
  );
}

const correctionRow = (siteId: string, amount: number): CorrectionRow => ({
  month: '2026-03',
  siteId,
  destinationClass: 'de-mobile',
  reason: 'rerated',
  amount,
  billedSeconds: Math.round((amount * 60) / 900),
  charges: [{ pricePerMinute: 900, seconds: Math.round((amount * 60) / 900), amount }],
  connectionFees: [],
  legs: 1,
});

describe('buildInvoice', () => {
  const usage = usageOf('t-kropp', 7);

  it('has package, usage-beyond-bundle, fee and one-off lines, each rounded once, VAT 19 % on the net', () => {
    const profile = storyProfile('t-kropp');
    const invoice = buildInvoice(profile, STORY_PACKAGES, '2026-03', usage, []);
    expect(invoice.lines.map((line) => line.category)).toEqual([
      'packages',
      ...invoice.lines.filter((line) => line.category === 'overage').map(() => 'overage'),
      'fees',
      'fees',
      'one-off',
    ]);
    const overage = invoice.lines.filter((line) => line.category === 'overage');
    expect(overage.map((line) => line.destinationClass)).toContain('de-fixed');
    expect(overage.map((line) => line.destinationClass)).not.toContain('internal');
    for (const line of invoice.lines) expect(line.netCents).toBe(toCents(line.amount));
    const fixed = usage.filter((row) => row.destinationClass === 'de-fixed');
    expect(overage.find((line) => line.destinationClass === 'de-fixed')?.amount).toBe(
      fixed.reduce((sum, row) => sum + row.amount, 0),
    );
    expect(invoice.lines[0]).toMatchObject({ quantityMilli: 2000, amount: 598_000, netCents: 5980 });
    expect(invoice.vatCents).toBe(vatCents(invoice.netCents, 19));
    expect(invoice.grossCents).toBe(invoice.netCents + invoice.vatCents);
  });

  it.each(ALLOCATION_METHODS)('splits every line and the totals exactly by %s', (method: AllocationMethod) => {
    expectExact(storyProfile('t-kropp', { allocation: { method, overrides: [] } }), usage);
  });

  it('splits exactly under a mixed key: packages by headcount, overage by usage, fees equally', () => {
    const profile = storyProfile('t-kropp', {
      allocation: {
        method: 'fixed-percentages',
        overrides: [
          { category: 'packages', method: 'headcount' },
          { category: 'overage', method: 'usage' },
          { category: 'fees', method: 'equal' },
        ],
      },
    });
    expectExact(profile, usage);
    const invoice = buildInvoice(profile, STORY_PACKAGES, '2026-03', usage, []);
    // Headcount: site-01..03 have 10 more people than the rest, so a larger share of the packages.
    const packageShares = invoice.allocation.map((share) => share.lineNetCents[0] ?? 0);
    expect(packageShares[0]).toBeGreaterThan(packageShares[4] ?? 0);
    // Usage: a site with no de-fixed overage carries none of that line.
    const fixedIndex = invoice.lines.findIndex((line) => line.destinationClass === 'de-fixed');
    const fixedBySite = usage.filter((row) => row.destinationClass === 'de-fixed' && row.overageSeconds > 0);
    for (const share of invoice.allocation) {
      if (!fixedBySite.some((row) => row.siteId === share.siteId && row.amount > 0)) {
        expect(share.lineNetCents[fixedIndex]).toBe(0);
      }
    }
  });

  it('stays exact for any seeded month and key (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(...ALLOCATION_METHODS),
        fc.constantFrom(...ALLOCATION_METHODS),
        (seed, method, overageMethod) => {
          const profile = storyProfile('t-prop', {
            allocation: { method, overrides: [{ category: 'overage', method: overageMethod }] },
          });
          expectExact(profile, usageOf('t-prop', seed).slice(0, 200));
        },
      ),
      { seed: 42, numRuns: 25 },
    );
  });

  it('puts corrections of an earlier month on their own lines, allocated to the sites they concern', () => {
    const invoice = buildInvoice(
      storyProfile('t-kropp'),
      STORY_PACKAGES,
      '2026-04',
      [],
      [correctionRow('site-05', 12_345), correctionRow('site-06', -2_000)],
    );
    const correction = invoice.lines.find((line) => line.category === 'correction');
    expect(correction).toMatchObject({ correctedMonth: '2026-03', amount: 10_345, netCents: 103 });
    expectExact(storyProfile('t-kropp'), []);
  });

  it('bills usage per class and contract price, connection fees on lines of their own, amounts exact', () => {
    const row = (siteId: string, charges: [number, number, number][], fees: [number, number][]): UsageRow => {
      const chargeSums = charges.map(([pricePerMinute, seconds, amount]) => ({ pricePerMinute, seconds, amount }));
      const feeSums = fees.map(([unitPrice, count]) => ({ unitPrice, count, amount: unitPrice * count }));
      return {
        siteId,
        destinationClass: 'premium',
        pool: '',
        amount: [...chargeSums, ...feeSums].reduce((sum, entry) => sum + entry.amount, 0),
        billedSeconds: chargeSums.reduce((sum, entry) => sum + entry.seconds, 0),
        bundleSeconds: 0,
        overageSeconds: 0,
        legs: 3,
        charges: chargeSums,
        connectionFees: feeSums,
      };
    };
    // Two time-of-day prices (1.99 and 0.99 €/min) and a 0.05 € connection fee, on two sites.
    const usage = [
      row(
        'site-01',
        [
          [9_900, 61, 10_065],
          [19_900, 125, 41_458],
        ],
        [[500, 2]],
      ),
      row('site-02', [[19_900, 60, 19_900]], [[500, 1]]),
    ];
    const invoice = buildInvoice(storyProfile('t-kropp'), STORY_PACKAGES, '2026-03', usage, []);
    const premium = invoice.lines.filter((line) => line.destinationClass === 'premium');
    expect(premium).toMatchObject([
      { description: 'Verbindungsminuten – Premium-Dienste (0900)', unitCode: 'MIN', quantityMilli: 1_017 },
      { unitPrice: 19_900, quantityMilli: 3_083, amount: 61_358, netCents: 614 },
      { description: 'Verbindungsentgelt – Premium-Dienste (0900)', unitCode: 'C62', quantityMilli: 3_000 },
    ]);
    expect(premium[0]).toMatchObject({ unitPrice: 9_900, amount: 10_065, netCents: 101 });
    expect(premium[2]).toMatchObject({ unitPrice: 500, amount: 1_500, netCents: 15 });
    expect(premium.reduce((sum, line) => sum + line.amount, 0)).toBe(usage[0]!.amount + usage[1]!.amount);
    // 3.083 min × 1.99 € = 6.135 € → 6.14 €, the line's exact sum 6.1358 € → 6.14 €.
    expect(priceTimesQuantityCents(premium[1]!)).toBe(614);
    const [first, second] = invoice.allocation;
    expect(first?.lineNetCents[invoice.lines.indexOf(premium[2]!)]).toBe(10);
    expect(second?.lineNetCents[invoice.lines.indexOf(premium[2]!)]).toBe(5);
  });

  it('states corrections per month, class, reason and price with real minutes: a price rerating credits the old price and charges the new', () => {
    const rerated = (siteId: string, seconds: number): CorrectionRow => ({
      month: '2026-02',
      siteId,
      destinationClass: 'de-mobile',
      reason: 'rerated',
      amount: (seconds * 600) / 60 - (seconds * 900) / 60,
      billedSeconds: 0,
      charges: [
        { pricePerMinute: 600, seconds, amount: (seconds * 600) / 60 },
        { pricePerMinute: 900, seconds: -seconds, amount: -(seconds * 900) / 60 },
      ],
      connectionFees: [],
      legs: 2,
    });
    const late: CorrectionRow = {
      ...rerated('site-03', 0),
      reason: 'late',
      amount: 1_800,
      billedSeconds: 120,
      charges: [{ pricePerMinute: 900, seconds: 120, amount: 1_800 }],
      legs: 1,
    };
    const invoice = buildInvoice(
      storyProfile('t-kropp', { language: 'en' }),
      STORY_PACKAGES,
      '2026-03',
      [],
      [rerated('site-01', 600), rerated('site-02', 300), late],
    );
    const corrections = invoice.lines.filter((line) => line.category === 'correction');
    expect(corrections).toEqual([
      expect.objectContaining({
        description: 'Correction February 2026, German mobile networks: 1 leg(s) received after the close',
        correctionReason: 'late',
        correctedMonth: '2026-02',
        quantityMilli: 2_000,
        unitPrice: 900,
        amount: 1_800,
      }),
      expect.objectContaining({
        description: 'Correction February 2026, German mobile networks: 4 leg(s) rated again, new rating',
        correctionReason: 'rerated',
        quantityMilli: 15_000,
        unitPrice: 600,
        amount: 9_000,
      }),
      expect.objectContaining({
        description:
          'Correction February 2026, German mobile networks: 4 leg(s) rated again, credit of the previous rating',
        quantityMilli: -15_000,
        unitPrice: 900,
        amount: -13_500,
        netCents: -135,
      }),
    ]);
    const creditIndex = invoice.lines.indexOf(corrections[2]!);
    expect(invoice.allocation.slice(0, 2).map((share) => share.lineNetCents[creditIndex])).toEqual([-90, -45]);
  });

  it('bills an amount that charges and fees do not explain instead of dropping it', () => {
    // A rerating that changed the amount but stated the same charges: 1.00 € more, at no price.
    const unexplained: CorrectionRow = { ...correctionRow('site-04', 0), amount: 10_000, charges: [] };
    const invoice = buildInvoice(storyProfile('t-kropp'), STORY_PACKAGES, '2026-04', [], [unexplained]);
    const [line] = invoice.lines.filter((entry) => entry.category === 'correction');
    expect(line).toMatchObject({
      amount: 10_000,
      netCents: 100,
      quantityMilli: 1_000,
      unitCode: 'C62',
      unitPrice: 10_000,
    });
    expect(line?.description).toContain('Betrag ohne Preisangabe');
    expect(invoice.allocation[3]?.lineNetCents[invoice.lines.indexOf(line!)]).toBe(100);
    // Next to a priced line, the rest joins it.
    const beside = buildInvoice(
      storyProfile('t-kropp'),
      STORY_PACKAGES,
      '2026-04',
      [],
      [{ ...correctionRow('site-04', 900), amount: 1_000 }],
    );
    expect(beside.lines.filter((entry) => entry.category === 'correction')).toMatchObject([
      { amount: 1_000, unitPrice: 900, quantityMilli: 1_000 },
    ]);
  });

  it('is a credit note only when the total is negative and the buyer asked for one', () => {
    const credit: CorrectionRow = { ...correctionRow('site-01', -5_000_000) };
    const bare = { recurringFees: [], oneOffItems: [] };
    expect(buildInvoice(storyProfile('t-kropp', bare), 0, '2026-04', [], [credit]).documentType).toBe('invoice');
    const asked = storyProfile('t-kropp', { ...bare, creditNoteForNegativeTotal: true });
    expect(buildInvoice(asked, 0, '2026-04', [], [credit])).toMatchObject({
      documentType: 'credit-note',
      grossCents: -59_500,
    });
    expect(buildInvoice(asked, 0, '2026-04', usage, []).documentType).toBe('invoice');
  });

  it('writes German for buyers in Germany and English elsewhere unless the profile says otherwise', () => {
    const profile = storyProfile('t-kropp');
    const abroad = { ...profile.buyer, address: { ...profile.buyer.address, countryCode: 'AT' } };
    expect(buildInvoice(profile, STORY_PACKAGES, '2026-03', usage, []).language).toBe('de');
    expect(buildInvoice({ ...profile, buyer: abroad }, STORY_PACKAGES, '2026-03', usage, []).language).toBe('en');
    expect(
      buildInvoice({ ...profile, buyer: abroad, language: 'de' }, STORY_PACKAGES, '2026-03', usage, []).language,
    ).toBe('de');
    // The settings survive the wire and are validated there.
    const stored = parseProfile(profileInput('t-kropp', wireProfile({ ...profile, creditNoteForNegativeTotal: true })));
    expect(stored).toMatchObject({ language: 'de', creditNoteForNegativeTotal: true });
    const wrong = { ...wireProfile(profile), language: 'fr' };
    expect(() => parseProfile(profileInput('t-kropp', wrong))).toThrow(/language: is one of de, en/);
  });

  it('bills usage of sites the profile does not know to the catch-all share, listed last', () => {
    const profile = storyProfile('t-kropp');
    const stray = [
      { ...usage[0]!, siteId: 'site-99', amount: 12_345 },
      { ...usage[0]!, siteId: 'unassigned' },
    ];
    const invoice = buildInvoice(profile, STORY_PACKAGES, '2026-03', [...usage, ...stray], []);
    expect(invoice.allocation).toHaveLength(profile.sites.length + 1);
    expect(invoice.allocation.at(-1)).toMatchObject({
      siteId: 'unassigned',
      siteName: 'Nicht zugeordnet / not assigned',
    });
    expect(invoice.allocation.at(-1)!.netCents).not.toBe(0);
    expectExact(profile, [...usage, ...stray]);
  });
});
