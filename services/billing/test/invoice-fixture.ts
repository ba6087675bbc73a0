import type { Seller } from '../src/config.js';
import { buildInvoice, type CorrectionRow, type UsageRow } from '../src/invoice.js';
import { invoiceNumber, type InvoiceRecord } from '../src/invoices.js';
import { berlinDate, monthPeriod } from '../src/months.js';
import type { BillingProfile } from '../src/profile.js';
import type { StoredLeg } from '../src/rated-legs.js';
import { usageRowsOf } from '../src/sums.js';
import type { PrecedingInvoice } from '../src/xrechnung.js';
import { STORY_PACKAGES, storyMonth, storyProfile } from './story-month.js';

export const SELLER: Seller = {
  name: 'Nordtel Kommunal GmbH',
  street: 'Hafenstraße 1',
  postalCode: '24937',
  city: 'Flensburg',
  countryCode: 'DE',
  vatId: 'DE123456789',
  contactName: 'Rechnungsteam',
  contactPhone: '+49 461 1234567',
  contactEmail: 'billing@nordtel.example',
  iban: 'DE02120300000000202051',
  bic: 'BYLADEM1001',
  paymentTermsDays: 14,
};

export const SELLER_ENV: Record<string, string> = {
  SELLER_NAME: SELLER.name,
  SELLER_STREET: SELLER.street,
  SELLER_POSTAL_CODE: SELLER.postalCode,
  SELLER_CITY: SELLER.city,
  SELLER_COUNTRY_CODE: SELLER.countryCode,
  SELLER_VAT_ID: SELLER.vatId,
  SELLER_CONTACT_NAME: SELLER.contactName,
  SELLER_CONTACT_PHONE: SELLER.contactPhone,
  SELLER_CONTACT_EMAIL: SELLER.contactEmail,
  SELLER_IBAN: SELLER.iban,
  SELLER_BIC: SELLER.bic,
};

/** Sums legs the way month close does (one version each). */
export function usageRows(legs: readonly StoredLeg[]): UsageRow[] {
  return usageRowsOf(legs);
}

/** An invoice as month close stores it, issued on the 1st of the month after at 06:00 UTC. */
export function invoiceRecord(
  profile: BillingProfile,
  month: string,
  usage: readonly UsageRow[],
  corrections: readonly CorrectionRow[] = [],
  packages = STORY_PACKAGES,
): InvoiceRecord {
  const period = monthPeriod(month);
  const issuedAt = new Date(`${period.end}T00:00:00Z`);
  issuedAt.setUTCDate(issuedAt.getUTCDate() + 1);
  issuedAt.setUTCHours(6);
  return {
    ...buildInvoice(profile, packages, month, usage, corrections),
    tenantId: profile.tenantId,
    month,
    status: 'issued',
    invoiceNumber: invoiceNumber(profile.tenantId, month),
    issuedAt,
    periodStart: period.start,
    periodEnd: period.end,
    dueDate: berlinDate(issuedAt, SELLER.paymentTermsDays),
    legCount: usage.reduce((sum, row) => sum + row.legs, 0),
    cutoff: issuedAt,
    buyer: profile.buyer,
    seller: SELLER,
  };
}

/** A closed March of the story tenant, as month close would store it. */
export function storyInvoice(tenantId = 't-kropp', overrides: Partial<BillingProfile> = {}): InvoiceRecord {
  return invoiceRecord(storyProfile(tenantId, overrides), '2026-03', usageRows(storyMonth(tenantId, '2026-03', 11)));
}

/** A correction row of March: deltas per price per minute (seconds, 1/10,000 EUR) and fee. */
export function marchCorrection(
  siteId: string,
  destinationClass: string,
  reason: CorrectionRow['reason'],
  charges: ReadonlyArray<[pricePerMinute: number, seconds: number, amount: number]>,
  legs: number,
  fees: ReadonlyArray<[unitPrice: number, count: number]> = [],
): CorrectionRow {
  const chargeSums = charges.map(([pricePerMinute, seconds, amount]) => ({ pricePerMinute, seconds, amount }));
  const feeSums = fees.map(([unitPrice, count]) => ({ unitPrice, count, amount: unitPrice * count }));
  return {
    month: '2026-03',
    siteId,
    destinationClass,
    reason,
    amount: [...chargeSums, ...feeSums].reduce((sum, entry) => sum + entry.amount, 0),
    billedSeconds: chargeSums.reduce((sum, entry) => sum + entry.seconds, 0),
    charges: chargeSums,
    connectionFees: feeSums,
    legs,
  };
}

/** The March invoice that April's corrections refer to (BG-3). */
export const MARCH_INVOICE: PrecedingInvoice = {
  month: '2026-03',
  invoiceNumber: invoiceNumber('t-kropp', '2026-03'),
  issueDate: '2026-04-01',
};

export interface InvoiceVariant {
  name: string;
  invoice: InvoiceRecord;
  preceding: PrecedingInvoice[];
}

/**
 * Every kind of invoice the service issues: the story month with overage over 47 sites, late
 * legs and reratings of March on April's invoice, a month whose credit exceeds its charges as a
 * negative invoice and as a credit note, and an English one for a buyer outside Germany.
 */
export function invoiceVariants(): InvoiceVariant[] {
  const april = usageRows(storyMonth('t-kropp', '2026-04', 12));
  const late = [
    marchCorrection('site-05', 'de-mobile', 'late', [[900, 125, 1_875]], 1),
    marchCorrection('site-06', 'de-mobile', 'late', [[900, 427, 6_405]], 7),
    marchCorrection('site-06', 'premium', 'late', [[19_900, 61, 20_233]], 1, [[500, 1]]),
    // 200 one-second legs at 1.5 ct/min, each rounded up to 0.0003 €: 0.06 € where 3.333 min cost 0.05 €.
    marchCorrection('site-07', 'de-fixed', 'late', [[150, 200, 600]], 200),
  ];
  // Rerated from 0.09 €/min to 0.06 €/min: the old price credited, the new one charged.
  const rerated = [
    marchCorrection(
      'site-02',
      'de-mobile',
      'rerated',
      [
        [600, 1_261, 12_610],
        [900, -1_261, -18_915],
      ],
      9,
    ),
    marchCorrection(
      'site-03',
      'de-mobile',
      'rerated',
      [
        [600, 187, 1_870],
        [900, -187, -2_805],
      ],
      2,
    ),
  ];
  const bigCredit = [
    marchCorrection('site-01', 'premium', 'rerated', [[19_900, -36_000, -11_940_000]], 120, [[500, -120]]),
  ];
  const bare = { recurringFees: [], oneOffItems: [] };
  const foreign = storyProfile('t-kropp', {
    buyer: {
      ...storyProfile('t-kropp').buyer,
      address: { street: 'Hauptplatz 1', postalCode: '6020', city: 'Innsbruck', countryCode: 'AT' },
    },
  });
  return [
    { name: 'overage, 47 sites', invoice: storyInvoice(), preceding: [] },
    {
      name: 'late-leg correction',
      invoice: invoiceRecord(storyProfile('t-kropp'), '2026-04', april, late),
      preceding: [MARCH_INVOICE],
    },
    {
      name: 'rerate credit',
      invoice: invoiceRecord(storyProfile('t-kropp'), '2026-04', april, rerated),
      preceding: [MARCH_INVOICE],
    },
    {
      name: 'negative total',
      invoice: invoiceRecord(storyProfile('t-kropp', bare), '2026-04', [], bigCredit, 0),
      preceding: [MARCH_INVOICE],
    },
    {
      name: 'credit note',
      invoice: invoiceRecord(
        storyProfile('t-kropp', { ...bare, creditNoteForNegativeTotal: true }),
        '2026-04',
        [],
        bigCredit,
        0,
      ),
      preceding: [MARCH_INVOICE],
    },
    {
      name: 'English, buyer in Austria',
      invoice: invoiceRecord(foreign, '2026-03', usageRows(storyMonth('t-kropp', '2026-03', 11))),
      preceding: [],
    },
  ];
}
