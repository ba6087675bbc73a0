import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storyProfile } from '../test/story-month.js';
import { splitOwnAmounts, withCatchAllSite } from './allocation.js';
import { buildInvoice, type CorrectionRow } from './invoice.js';
import { toCents, vatCents } from './money.js';
import type { BillingProfile } from './profile.js';

/** A profile with `sites` sites and nothing but usage on the invoice, split by usage. */
function bareProfile(sites: number): BillingProfile {
  const profile = storyProfile('t-alloc', {
    recurringFees: [],
    oneOffItems: [],
    allocation: { method: 'usage', overrides: [] },
  });
  return { ...profile, sites: profile.sites.slice(0, sites) };
}

const correction = (siteId: string, amount: number): CorrectionRow => ({
  month: '2026-02',
  siteId,
  destinationClass: 'de-mobile',
  reason: 'rerated',
  amount,
  billedSeconds: 0,
  charges: [{ pricePerMinute: 900, seconds: 0, amount }],
  connectionFees: [],
  legs: 1,
});

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('site allocation with mixed signs', () => {
  it('gives each site its own rounded amount: +0.5050 € / −0.5000 € is +0.51 / −0.50, not +1.01 / −1.00', () => {
    const invoice = buildInvoice(
      bareProfile(2),
      0,
      '2026-03',
      [],
      [correction('site-01', 5_050), correction('site-02', -5_000)],
    );
    expect(invoice.lines).toHaveLength(1);
    expect(invoice.lines[0]).toMatchObject({ amount: 50, netCents: 1 });
    expect(invoice.allocation.map((share) => share.lineNetCents[0])).toEqual([51, -50]);
  });

  it('splits the VAT by each site’s own VAT: nets +100.00 / −99.99 give +19.00 / −19.00', () => {
    const invoice = buildInvoice(
      bareProfile(2),
      0,
      '2026-03',
      [],
      [correction('site-01', 1_000_000), correction('site-02', -999_900)],
    );
    expect(invoice.allocation.map((share) => share.netCents)).toEqual([10_000, -9_999]);
    expect(invoice.vatCents).toBe(0);
    expect(invoice.allocation.map((share) => share.vatCents)).toEqual([1_900, -1_900]);
  });

  it('never amplifies: every share is the site’s own rounded amount give or take the residue (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50_000_000, max: 50_000_000 }), { minLength: 1, maxLength: 47 }),
        (amounts) => {
          const profile = bareProfile(amounts.length);
          const corrections = amounts.map((amount, index) => correction(profile.sites[index]!.id, amount));
          const invoice = buildInvoice(profile, 0, '2026-03', [], corrections);
          const lineShares = invoice.allocation.map((share) => share.lineNetCents[0] ?? 0);
          const lineNet = (invoice.lines[0]?.netCents ?? 0) + 0;
          expect(sum(lineShares)).toBe(lineNet);
          const own = amounts.map(toCents);
          // The residue is the rounding of at most one half cent per site.
          const residue = Math.abs(lineNet - sum(own));
          expect(residue).toBeLessThanOrEqual(Math.ceil(amounts.length / 2));
          if (invoice.lines.length > 0) {
            expect(sum(lineShares.map((share, index) => Math.abs(share - own[index]!)))).toBe(residue);
          }
          const vat = invoice.allocation.map((share) => share.vatCents);
          expect(sum(vat)).toBe(invoice.vatCents + 0);
          const ownVat = invoice.allocation.map((share) => vatCents(share.netCents, 19));
          const vatResidue = Math.abs(invoice.vatCents - sum(ownVat));
          expect(sum(vat.map((share, index) => Math.abs(share - ownVat[index]!)))).toBe(vatResidue);
          expect(sum(invoice.allocation.map((share) => share.grossCents))).toBe(invoice.grossCents + 0);
        },
      ),
      { seed: 20260317, numRuns: 300 },
    );
  });

  it('spreads a residue by the sites’ absolute amounts, whatever their signs (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: -20, max: 20 }),
        (own, residue) => {
          const total = sum(own) + residue;
          const shares = splitOwnAmounts(total, own, own);
          expect(sum(shares)).toBe(total);
          expect(sum(shares.map((share, index) => Math.abs(share - own[index]!)))).toBe(Math.abs(residue));
          // A unit of residue goes to a site with weight unless all are zero.
          if (own.some((value) => value !== 0)) {
            shares.forEach((share, index) => {
              if (own[index] === 0) expect(share).toBe(0);
            });
          }
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('the catch-all share', () => {
  it('adds the site only when some usage needs it, and moves just that usage', () => {
    const profile = bareProfile(3);
    const none = withCatchAllSite(profile, [], [correction('site-01', 5)]);
    expect(none.profile.sites).toHaveLength(3);
    const some = withCatchAllSite(profile, [], [correction('site-01', 5), correction('site-77', 9)]);
    expect(some.profile.sites.map((site) => site.id)).toEqual(['site-01', 'site-02', 'site-03', 'unassigned']);
    expect(some.corrections.map((row) => row.siteId)).toEqual(['site-01', 'unassigned']);
  });

  it('carries its own usage, and no share of what is split equally, by headcount or fixed percentages', () => {
    const profile = storyProfile('t-alloc', {
      allocation: {
        method: 'usage',
        overrides: [
          { category: 'packages', method: 'headcount' },
          { category: 'fees', method: 'equal' },
          { category: 'one-off', method: 'fixed-percentages' },
        ],
      },
    });
    const invoice = buildInvoice(profile, 0, '2026-03', [], [correction('gone', 10_000)]);
    const catchAll = invoice.allocation.at(-1)!;
    expect(catchAll.siteId).toBe('unassigned');
    const correctionIndex = invoice.lines.findIndex((line) => line.category === 'correction');
    invoice.lines.forEach((_line, index) =>
      expect(catchAll.lineNetCents[index]).toBe(index === correctionIndex ? 100 : 0),
    );
  });
});
