import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storyMonth, storyProfile } from '../test/story-month.js';
import { buildInvoice, UnknownSitesError, type CorrectionRow, type UsageRow } from './invoice.js';
import { toCents, vatCents } from './money.js';
import { usageRowsOf } from './sums.js';
import { ALLOCATION_METHODS, type AllocationMethod, type BillingProfile } from './profile.js';

function usageOf(tenantId: string, seed: number): UsageRow[] {
  return usageRowsOf(storyMonth(tenantId, '2026-03', seed));
}

function expectExact(profile: BillingProfile, usage: UsageRow[]): void {
  const invoice = buildInvoice(profile, '2026-03', usage, []);
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
    const invoice = buildInvoice(profile, '2026-03', usage, []);
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
    const invoice = buildInvoice(profile, '2026-03', usage, []);
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
      '2026-04',
      [],
      [correctionRow('site-05', 12_345), correctionRow('site-06', -2_000)],
    );
    const correction = invoice.lines.find((line) => line.category === 'correction');
    expect(correction).toMatchObject({ correctedMonth: '2026-03', amount: 10_345, netCents: 103 });
    expectExact(storyProfile('t-kropp'), []);
  });

  it('refuses usage of sites the profile does not know', () => {
    expect(() => buildInvoice(storyProfile('t-kropp'), '2026-03', [{ ...usage[0]!, siteId: 'site-99' }], [])).toThrow(
      UnknownSitesError,
    );
  });
});
