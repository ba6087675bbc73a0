import { allocate } from './allocation.js';
import { toCents, vatCents } from './money.js';
import type { BillingProfile, LineCategory } from './profile.js';

export const VAT_RATE_PERCENT = 19;

/** Seconds billed at one price, from RatedLeg.charges. */
export interface ChargeSum {
  /** 1/10,000 EUR per minute, as in the tariff. */
  pricePerMinute: number;
  seconds: number;
  /** 1/10,000 EUR. */
  amount: number;
}

/** Connection fees of one fee price. */
export interface FeeSum {
  /** 1/10,000 EUR per connection (the leg's connection_fee). */
  unitPrice: number;
  count: number;
  /** 1/10,000 EUR. */
  amount: number;
}

/** Rated usage of one site in one destination class (and pool), summed over legs. */
export interface UsageRow {
  siteId: string;
  destinationClass: string;
  pool: string;
  /** 1/10,000 EUR, connection fees included. */
  amount: number;
  billedSeconds: number;
  bundleSeconds: number;
  overageSeconds: number;
  legs: number;
  /** What `amount` without the connection fees is made of, per price per minute, ascending. */
  charges: ChargeSum[];
  /** Connection fees per fee price, ascending. */
  connectionFees: FeeSum[];
}

/** What late legs and reratings changed in an invoiced month, per site, class and reason. */
export interface CorrectionRow {
  month: string;
  siteId: string;
  destinationClass: string;
  /** `late`: legs first stored after that month's close cutoff; `rerated`: a higher rating version of a leg that was invoiced. */
  reason: 'late' | 'rerated';
  /** Difference to what was invoiced, 1/10,000 EUR, connection fees included. */
  amount: number;
  /** Difference in billed seconds. */
  billedSeconds: number;
  /** Differences per price per minute, ascending; seconds and amounts may be negative. */
  charges: ChargeSum[];
  /** Differences per fee price, ascending; counts and amounts may be negative. */
  connectionFees: FeeSum[];
  legs: number;
}

export interface InvoiceLine {
  category: LineCategory;
  description: string;
  destinationClass: string;
  correctedMonth: string;
  quantityMilli: number;
  /** UN/ECE Rec 20: MIN (minute) or C62 (piece). */
  unitCode: 'MIN' | 'C62';
  amount: number;
  netCents: number;
}

export interface SiteShare {
  siteId: string;
  siteName: string;
  netCents: number;
  vatCents: number;
  grossCents: number;
  lineNetCents: number[];
}

export interface InvoiceTotals {
  lines: InvoiceLine[];
  netCents: number;
  vatRatePercent: number;
  vatCents: number;
  grossCents: number;
  allocation: SiteShare[];
}

export interface DraftLine extends Omit<InvoiceLine, 'netCents'> {
  /** Weights per site (profile order) when the line is split by usage. */
  usageWeights: number[];
}

const minutesMilli = (seconds: number) => Math.round((seconds * 1000) / 60);

function usageLines(profile: BillingProfile, usage: readonly UsageRow[]): DraftLine[] {
  const byClass = new Map<string, UsageRow[]>();
  for (const row of usage) byClass.set(row.destinationClass, [...(byClass.get(row.destinationClass) ?? []), row]);
  const lines: DraftLine[] = [];
  for (const [destinationClass, rows] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) {
    const amount = rows.reduce((sum, row) => sum + row.amount, 0);
    if (amount === 0) continue;
    // Bundle-drawing classes are charged for their overage seconds, the others for all billed seconds.
    const seconds = rows.reduce((sum, row) => sum + (row.pool ? row.overageSeconds : row.billedSeconds), 0);
    lines.push({
      category: 'overage',
      description: `Usage ${destinationClass}${rows.some((row) => row.pool) ? ' beyond the voice packages' : ''}`,
      destinationClass,
      correctedMonth: '',
      quantityMilli: seconds > 0 ? minutesMilli(seconds) : 1000,
      unitCode: seconds > 0 ? 'MIN' : 'C62',
      amount,
      usageWeights: profile.sites.map((site) =>
        rows.filter((row) => row.siteId === site.id).reduce((sum, row) => sum + row.amount, 0),
      ),
    });
  }
  return lines;
}

function correctionLines(profile: BillingProfile, corrections: readonly CorrectionRow[]): DraftLine[] {
  const groups = new Map<string, CorrectionRow[]>();
  for (const row of corrections) {
    const key = `${row.month}\u0000${row.destinationClass}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const lines: DraftLine[] = [];
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const amount = rows.reduce((sum, row) => sum + row.amount, 0);
    if (amount === 0) continue;
    const [month = '', destinationClass = ''] = key.split('\u0000');
    const legs = rows.reduce((sum, row) => sum + row.legs, 0);
    lines.push({
      category: 'correction',
      description: `Correction ${month} ${destinationClass}: ${legs} leg(s) rated after that month was invoiced`,
      destinationClass,
      correctedMonth: month,
      quantityMilli: amount < 0 ? -1000 : 1000,
      unitCode: 'C62',
      amount,
      usageWeights: profile.sites.map((site) =>
        rows.filter((row) => row.siteId === site.id).reduce((sum, row) => sum + row.amount, 0),
      ),
    });
  }
  return lines;
}

/**
 * Builds a month's invoice lines (voice packages, usage beyond them per class, recurring fees,
 * one-off items, corrections of earlier months), rounds each line once to cents, adds VAT on the
 * net total (EN 16931 BR-CO-17), and splits every line and the VAT over the sites so that the
 * site shares add up exactly to the invoice totals.
 */
export function buildInvoice(
  profile: BillingProfile,
  month: string,
  usage: readonly UsageRow[],
  corrections: readonly CorrectionRow[],
): InvoiceTotals {
  const known = new Set(profile.sites.map((site) => site.id));
  const unknown = [...new Set([...usage, ...corrections].map((row) => row.siteId).filter((id) => !known.has(id)))];
  if (unknown.length > 0) {
    throw new UnknownSitesError(unknown.sort());
  }
  const none: number[] = profile.sites.map(() => 0);
  const drafts: DraftLine[] = [];
  if (profile.voicePackages > 0) {
    drafts.push({
      category: 'packages',
      description: 'Voice package: 1000 de-fixed + 700 de-mobile minutes per month',
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: profile.voicePackages * 1000,
      unitCode: 'C62',
      amount: profile.voicePackages * profile.voicePackagePrice,
      usageWeights: none,
    });
  }
  drafts.push(...usageLines(profile, usage));
  for (const fee of profile.recurringFees) {
    drafts.push({
      category: 'fees',
      description: fee.description,
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: fee.quantity * 1000,
      unitCode: 'C62',
      amount: fee.quantity * fee.unitPrice,
      usageWeights: none,
    });
  }
  for (const item of profile.oneOffItems.filter((entry) => entry.month === month)) {
    drafts.push({
      category: 'one-off',
      description: item.description,
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: item.quantity * 1000,
      unitCode: 'C62',
      amount: item.quantity * item.unitPrice,
      usageWeights: none,
    });
  }
  drafts.push(...correctionLines(profile, corrections));

  const lines: InvoiceLine[] = drafts.map(({ usageWeights: _weights, ...line }) => ({
    ...line,
    netCents: toCents(line.amount),
  }));
  const netCents = lines.reduce((sum, line) => sum + line.netCents, 0);
  const vat = vatCents(netCents, VAT_RATE_PERCENT);
  const { perLine, siteNet, siteVat } = allocate(profile, drafts, lines, usage, vat);
  return {
    lines,
    netCents,
    vatRatePercent: VAT_RATE_PERCENT,
    vatCents: vat,
    grossCents: netCents + vat,
    allocation: profile.sites.map((site, siteIndex) => ({
      siteId: site.id,
      siteName: site.name,
      netCents: siteNet[siteIndex] ?? 0,
      vatCents: siteVat[siteIndex] ?? 0,
      grossCents: (siteNet[siteIndex] ?? 0) + (siteVat[siteIndex] ?? 0),
      lineNetCents: perLine.map((shares) => shares[siteIndex] ?? 0),
    })),
  };
}

export class UnknownSitesError extends Error {
  override readonly name = 'UnknownSitesError';
  constructor(readonly siteIds: readonly string[]) {
    super(`rated legs name sites missing from the billing profile: ${siteIds.join(', ')}`);
  }
}
