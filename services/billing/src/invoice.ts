import { allocate, withCatchAllSite } from './allocation.js';
import { toCents, vatCents } from './money.js';
import { className, monthName, type Language } from './language.js';
import { languageOf, type BillingProfile, type LineCategory } from './profile.js';

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
  /** Month a correction line corrects, `YYYY-MM` (its line period); empty on other lines. */
  correctedMonth: string;
  /** Correction lines: legs that arrived after the close, or legs rated again. */
  correctionReason?: CorrectionRow['reason'];
  quantityMilli: number;
  /** UN/ECE Rec 20: MIN (minute) or C62 (piece). */
  unitCode: 'MIN' | 'C62';
  /** The contract price per minute or piece, 1/10,000 EUR (BT-146); never negative. */
  unitPrice: number;
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
  /** The language item names and the PDF are written in. */
  language: Language;
  /** A negative total becomes a credit note where the buyer asked for one. */
  documentType: 'invoice' | 'credit-note';
}

export interface DraftLine extends Omit<InvoiceLine, 'netCents'> {
  /** Weights per site (profile order) when the line is split by usage. */
  usageWeights: number[];
}

/** Seconds as thousandths of a minute, rounded half away from zero. */
const minutesMilli = (seconds: number) => Math.sign(seconds) * Math.round((Math.abs(seconds) * 1000) / 60);

/**
 * Quantity × unit price in cents, as a reader of the line recomputes it. It differs from the
 * line's net amount by at most the per-leg rounding (amounts are summed per leg, minutes are
 * shown to three decimals); documents show that rest as a line allowance or charge (BG-27/28).
 */
export function priceTimesQuantityCents(line: Pick<InvoiceLine, 'quantityMilli' | 'unitPrice'>): number {
  // thousandths of a unit × 1/10,000 EUR = 1/10,000,000 EUR; 100,000 of them make a cent.
  return toCents(Math.sign(line.quantityMilli) * Math.round((Math.abs(line.quantityMilli) * line.unitPrice) / 1000));
}

const WORDS = {
  de: {
    package: 'Sprachpaket Festnetz und Mobilfunk (je Monat 1.000 Min. Festnetz + 700 Min. Mobilfunk Deutschland)',
    beyondPackages: 'Minuten über Paket',
    minutes: 'Verbindungsminuten',
    connectionFee: 'Verbindungsentgelt',
    rest: 'Betrag ohne Preisangabe',
    correction: 'Korrektur',
    late: (legs: number) => `nachträglich eingegangene Verbindungen (${legs})`,
    rerated: (legs: number) => `neu bewertete Verbindungen (${legs})`,
    credit: 'Gutschrift der bisherigen Bewertung',
    charge: 'neue Bewertung',
  },
  en: {
    package: 'Voice package (per month 1,000 min German landlines + 700 min German mobile networks)',
    beyondPackages: 'Minutes beyond the voice packages',
    minutes: 'Call minutes',
    connectionFee: 'Connection fee',
    rest: 'Amount without a stated price',
    correction: 'Correction',
    late: (legs: number) => `${legs} leg(s) received after the close`,
    rerated: (legs: number) => `${legs} leg(s) rated again`,
    credit: 'credit of the previous rating',
    charge: 'new rating',
  },
} as const;

interface PricedPart {
  /** Charges per price per minute, connection fees per fee, or what rows state beyond both. */
  kind: 'minutes' | 'fee' | 'rest';
  unitPrice: number;
  /** Seconds for minutes, connections for fees, ±1 for a rest. */
  units: number;
  amount: number;
  usageWeights: number[];
}

/** Rows of one class (or one corrected class) as parts per price: charges, then connection fees. */
function pricedParts(profile: BillingProfile, rows: readonly (UsageRow | CorrectionRow)[]): PricedPart[] {
  const parts = new Map<string, PricedPart>();
  const siteIndex = new Map(profile.sites.map((site, index) => [site.id, index]));
  const noWeights = () => profile.sites.map(() => 0);
  const weigh = (weights: number[], siteId: string, amount: number) => {
    const index = siteIndex.get(siteId);
    if (index !== undefined) weights[index] = (weights[index] ?? 0) + amount;
  };
  const add = (
    key: string,
    kind: PricedPart['kind'],
    unitPrice: number,
    units: number,
    amount: number,
    siteId: string,
  ) => {
    const entry = parts.get(key) ?? { kind, unitPrice, units: 0, amount: 0, usageWeights: noWeights() };
    entry.units += units;
    entry.amount += amount;
    weigh(entry.usageWeights, siteId, amount);
    parts.set(key, entry);
  };
  const rest = { amount: 0, usageWeights: noWeights() };
  for (const row of rows) {
    for (const charge of row.charges) {
      const key = `c${String(charge.pricePerMinute).padStart(12, '0')}`;
      add(key, 'minutes', charge.pricePerMinute, charge.seconds, charge.amount, row.siteId);
    }
    for (const fee of row.connectionFees) {
      add(`f${String(fee.unitPrice).padStart(12, '0')}`, 'fee', fee.unitPrice, fee.count, fee.amount, row.siteId);
    }
    const stated =
      row.charges.reduce((sum, charge) => sum + charge.amount, 0) +
      row.connectionFees.reduce((sum, fee) => sum + fee.amount, 0);
    rest.amount += row.amount - stated;
    weigh(rest.usageWeights, row.siteId, row.amount - stated);
  }
  const sorted = [...parts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, part]) => part)
    .filter((part) => part.amount !== 0 || part.units !== 0);
  // Charges and fees make up a row's amount; should a row say otherwise, the rest is billed all
  // the same: on the class's first line, or on a line of its own when there is none.
  const [first] = sorted;
  if (rest.amount !== 0 && first) {
    first.amount += rest.amount;
    rest.usageWeights.forEach(
      (weight, index) => (first.usageWeights[index] = (first.usageWeights[index] ?? 0) + weight),
    );
  } else if (rest.amount !== 0) {
    sorted.push({ kind: 'rest', unitPrice: Math.abs(rest.amount), units: Math.sign(rest.amount), ...rest });
  }
  return sorted.filter((part) => part.amount !== 0);
}

/** A part's quantity and unit: real minutes, connections, or one piece for a rest. */
const quantityOf = (part: PricedPart): Pick<InvoiceLine, 'quantityMilli' | 'unitCode'> =>
  part.kind === 'minutes'
    ? { quantityMilli: minutesMilli(part.units), unitCode: 'MIN' }
    : { quantityMilli: part.units * 1000, unitCode: 'C62' };

function usageLines(profile: BillingProfile, usage: readonly UsageRow[], language: Language): DraftLine[] {
  const words = WORDS[language];
  const byClass = new Map<string, UsageRow[]>();
  for (const row of usage) byClass.set(row.destinationClass, [...(byClass.get(row.destinationClass) ?? []), row]);
  const lines: DraftLine[] = [];
  for (const [destinationClass, rows] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) {
    const minutes = rows.some((row) => row.pool) ? words.beyondPackages : words.minutes;
    const what = { minutes, fee: words.connectionFee, rest: words.rest };
    for (const part of pricedParts(profile, rows)) {
      lines.push({
        category: 'overage',
        description: `${what[part.kind]} – ${className(destinationClass, language)}`,
        destinationClass,
        correctedMonth: '',
        ...quantityOf(part),
        unitPrice: part.unitPrice,
        amount: part.amount,
        usageWeights: part.usageWeights,
      });
    }
  }
  return lines;
}

function correctionLines(profile: BillingProfile, corrections: readonly CorrectionRow[], language: Language) {
  const words = WORDS[language];
  const groups = new Map<string, CorrectionRow[]>();
  for (const row of corrections) {
    const key = `${row.month}\u0000${row.destinationClass}\u0000${row.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const lines: DraftLine[] = [];
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const [month = '', destinationClass = ''] = key.split('\u0000');
    const reason = rows[0]?.reason ?? 'late';
    const legs = rows.reduce((sum, row) => sum + row.legs, 0);
    const what = `${words.correction} ${monthName(month, language)}, ${className(destinationClass, language)}`;
    const why = reason === 'rerated' ? words.rerated(legs) : words.late(legs);
    for (const part of pricedParts(profile, rows)) {
      const direction = reason === 'rerated' ? `, ${part.amount < 0 ? words.credit : words.charge}` : '';
      const kind = part.kind === 'fee' ? `${words.connectionFee}, ` : part.kind === 'rest' ? `${words.rest}, ` : '';
      lines.push({
        category: 'correction',
        description: `${what}: ${kind}${why}${direction}`,
        destinationClass,
        correctedMonth: month,
        correctionReason: reason,
        ...quantityOf(part),
        unitPrice: part.unitPrice,
        amount: part.amount,
        usageWeights: part.usageWeights,
      });
    }
  }
  return lines;
}

/**
 * Builds a month's invoice lines (the month's voice packages, as rating's tariff sets them; usage beyond them per class and price, with
 * connection fees on lines of their own; recurring fees; one-off items; corrections of earlier
 * months per class, reason and price), rounds each line once to cents, adds VAT on the net total
 * (EN 16931 BR-CO-17), and splits every line and the VAT over the sites so that the site shares
 * add up exactly to the invoice totals. Item names are in the buyer's language.
 */
export function buildInvoice(
  profile: BillingProfile,
  voicePackages: number,
  month: string,
  usage: readonly UsageRow[],
  corrections: readonly CorrectionRow[],
): InvoiceTotals {
  // Usage on sites the profile does not list is billed to a visible catch-all share, never refused.
  ({ profile, usage, corrections } = withCatchAllSite(profile, usage, corrections));
  const language = languageOf(profile);
  const none: number[] = profile.sites.map(() => 0);
  const drafts: DraftLine[] = [];
  if (voicePackages > 0) {
    drafts.push({
      category: 'packages',
      description: WORDS[language].package,
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: voicePackages * 1000,
      unitCode: 'C62',
      unitPrice: profile.voicePackagePrice,
      amount: voicePackages * profile.voicePackagePrice,
      usageWeights: none,
    });
  }
  drafts.push(...usageLines(profile, usage, language));
  for (const fee of profile.recurringFees) {
    drafts.push({
      category: 'fees',
      description: fee.description,
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: fee.quantity * 1000,
      unitCode: 'C62',
      unitPrice: fee.unitPrice,
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
      unitPrice: item.unitPrice,
      amount: item.quantity * item.unitPrice,
      usageWeights: none,
    });
  }
  drafts.push(...correctionLines(profile, corrections, language));

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
    language,
    documentType: netCents + vat < 0 && profile.creditNoteForNegativeTotal === true ? 'credit-note' : 'invoice',
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
