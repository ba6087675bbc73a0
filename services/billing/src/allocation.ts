import type { DraftLine, InvoiceLine, UsageRow } from './invoice.js';
import { largestRemainder } from './largest-remainder.js';
import { allocationMethodFor, type BillingProfile } from './profile.js';

function weightsFor(line: DraftLine, profile: BillingProfile, billedSecondsBySite: number[]): number[] {
  switch (allocationMethodFor(profile, line.category)) {
    case 'usage':
      return line.category === 'overage' || line.category === 'correction' ? line.usageWeights : billedSecondsBySite;
    case 'headcount':
      return profile.sites.map((site) => site.headcount);
    case 'fixed-percentages':
      return profile.sites.map((site) => site.fixedShareBasisPoints);
    case 'equal':
      return profile.sites.map(() => 1);
  }
}

/**
 * Splits every line's net and the invoice's VAT over the profile's sites (profile order) by the
 * allocation key, so that the site shares add up exactly to the line and VAT totals.
 */
export function allocate(
  profile: BillingProfile,
  drafts: readonly DraftLine[],
  lines: readonly InvoiceLine[],
  usage: readonly UsageRow[],
  vat: number,
): { perLine: number[][]; siteNet: number[]; siteVat: number[] } {
  const billedSecondsBySite = profile.sites.map((site) =>
    usage.filter((row) => row.siteId === site.id).reduce((sum, row) => sum + row.billedSeconds, 0),
  );
  const perLine = drafts.map((draft, index) =>
    largestRemainder(lines[index]?.netCents ?? 0, weightsFor(draft, profile, billedSecondsBySite)),
  );
  const siteNet = profile.sites.map((_site, siteIndex) =>
    perLine.reduce((sum, shares) => sum + (shares[siteIndex] ?? 0), 0),
  );
  return { perLine, siteNet, siteVat: largestRemainder(vat, siteNet) };
}
