import { VAT_RATE_PERCENT, type CorrectionRow, type DraftLine, type InvoiceLine, type UsageRow } from './invoice.js';
import { largestRemainder } from './largest-remainder.js';
import { toCents, vatCents } from './money.js';
import { allocationMethodFor, type BillingProfile } from './profile.js';

/**
 * The catch-all share for usage on sites the billing profile does not know (a site removed from
 * the profile, or `unassigned` from rating when a tariff has no default site): billed visibly
 * instead of blocking the close.
 */
export const UNASSIGNED_SITE = { id: 'unassigned', name: 'Nicht zugeordnet / not assigned' } as const;

/** Site ids of rows that the profile does not list, sorted. */
export function unassignedSites(profile: BillingProfile, rows: ReadonlyArray<{ siteId: string }>): string[] {
  const known = new Set(profile.sites.map((site) => site.id));
  return [...new Set(rows.map((row) => row.siteId).filter((id) => !known.has(id)))].sort();
}

/**
 * Moves usage and corrections of sites the profile does not list to the catch-all site, which is
 * added to the profile's sites (last) when there is any; headcount and fixed share 0, so only
 * usage is allocated to it.
 */
export function withCatchAllSite(
  profile: BillingProfile,
  usage: readonly UsageRow[],
  corrections: readonly CorrectionRow[],
): { profile: BillingProfile; usage: UsageRow[]; corrections: CorrectionRow[] } {
  const unknown = new Set(unassignedSites(profile, [...usage, ...corrections]));
  if (unknown.size === 0) return { profile, usage: [...usage], corrections: [...corrections] };
  const move = <T extends { siteId: string }>(row: T): T =>
    unknown.has(row.siteId) ? { ...row, siteId: UNASSIGNED_SITE.id } : row;
  return {
    profile: {
      ...profile,
      sites: [...profile.sites, { ...UNASSIGNED_SITE, headcount: 0, fixedShareBasisPoints: 0 }],
    },
    usage: usage.map(move),
    corrections: corrections.map(move),
  };
}

const isCatchAll = (site: { id: string }, profile: BillingProfile, index: number) =>
  site.id === UNASSIGNED_SITE.id && index === profile.sites.length - 1;

/** Weights, or for lines split by their own usage the sites' amounts (1/10,000 EUR). */
function weightsFor(
  line: DraftLine,
  profile: BillingProfile,
  billedSecondsBySite: number[],
): { amounts: number[] } | { weights: number[] } {
  switch (allocationMethodFor(profile, line.category)) {
    case 'usage':
      return line.category === 'overage' || line.category === 'correction'
        ? { amounts: line.usageWeights }
        : { weights: billedSecondsBySite };
    case 'headcount':
      return { weights: profile.sites.map((site) => site.headcount) };
    case 'fixed-percentages':
      return { weights: profile.sites.map((site) => site.fixedShareBasisPoints) };
    case 'equal':
      return { weights: profile.sites.map((site, index) => (isCatchAll(site, profile, index) ? 0 : 1)) };
  }
}

/**
 * Splits a rounded total over sites whose own exact amounts are known (which may have either
 * sign): each site gets its own amount rounded, and only the rounding residue — a few cents — is
 * distributed, by the sites' absolute amounts. Using signed amounts as weights instead would
 * amplify: +0.5050 € and −0.5000 € make a +0.01 € line that would split as +1.01 € / −1.00 €.
 */
export function splitOwnAmounts(
  totalCents: number,
  ownCents: readonly number[],
  magnitudes: readonly number[],
): number[] {
  const shares = [...ownCents];
  const residue = totalCents - shares.reduce((sum, share) => sum + share, 0);
  const spread = largestRemainder(
    residue,
    magnitudes.map((value) => Math.abs(value)),
  );
  // `|| 0`: no −0 from rounding a tiny credit.
  return shares.map((share, index) => share + (spread[index] ?? 0) || 0);
}

/**
 * Splits every line's net and the invoice's VAT over the profile's sites (profile order) by the
 * allocation key, so that the site shares add up exactly to the line and VAT totals. A line split
 * by its own usage and the VAT are split by rounding each site's own amount (`splitOwnAmounts`).
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
  const perLine = drafts.map((draft, index) => {
    const netCents = lines[index]?.netCents ?? 0;
    const split = weightsFor(draft, profile, billedSecondsBySite);
    if ('amounts' in split) return splitOwnAmounts(netCents, split.amounts.map(toCents), split.amounts);
    // No weight anywhere (no usage yet, no headcount): equally over the profile's own sites.
    const weighted = split.weights.some((weight) => weight !== 0);
    return largestRemainder(
      netCents,
      weighted ? split.weights : profile.sites.map((site, index) => (isCatchAll(site, profile, index) ? 0 : 1)),
    );
  });
  const siteNet = profile.sites.map((_site, siteIndex) =>
    perLine.reduce((sum, shares) => sum + (shares[siteIndex] ?? 0), 0),
  );
  const siteVat = splitOwnAmounts(
    vat,
    siteNet.map((net) => vatCents(net, VAT_RATE_PERCENT)),
    siteNet,
  );
  return { perLine, siteNet, siteVat };
}
