import { billingV1, type ratingV1 } from '@switchboard/proto';
import type { InvoiceRecord } from './invoices.js';
import { languageOf, type AllocationMethod, type BillingProfile, type LineCategory } from './profile.js';
import type { StoredLeg } from './rated-legs.js';

// Conversions between the gRPC messages (int64 as strings, enums) and billing's own records.

const METHODS: ReadonlyArray<[billingV1.AllocationMethod, AllocationMethod]> = [
  [billingV1.AllocationMethod.ALLOCATION_METHOD_USAGE, 'usage'],
  [billingV1.AllocationMethod.ALLOCATION_METHOD_HEADCOUNT, 'headcount'],
  [billingV1.AllocationMethod.ALLOCATION_METHOD_FIXED_PERCENTAGES, 'fixed-percentages'],
  [billingV1.AllocationMethod.ALLOCATION_METHOD_EQUAL, 'equal'],
];
const CATEGORIES: ReadonlyArray<[billingV1.LineCategory, LineCategory]> = [
  [billingV1.LineCategory.LINE_CATEGORY_PACKAGES, 'packages'],
  [billingV1.LineCategory.LINE_CATEGORY_OVERAGE, 'overage'],
  [billingV1.LineCategory.LINE_CATEGORY_FEES, 'fees'],
  [billingV1.LineCategory.LINE_CATEGORY_ONE_OFF, 'one-off'],
  [billingV1.LineCategory.LINE_CATEGORY_CORRECTION, 'correction'],
];

const methodOf = (value: billingV1.AllocationMethod) => METHODS.find(([wire]) => wire === value)?.[1];
const categoryOf = (value: billingV1.LineCategory) => CATEGORIES.find(([wire]) => wire === value)?.[1];
const wireMethod = (value: AllocationMethod) =>
  METHODS.find(([, own]) => own === value)?.[0] ?? billingV1.AllocationMethod.ALLOCATION_METHOD_UNSPECIFIED;
const wireCategory = (value: LineCategory) =>
  CATEGORIES.find(([, own]) => own === value)?.[0] ?? billingV1.LineCategory.LINE_CATEGORY_UNSPECIFIED;

/** int64 strings to numbers; anything unparsable stays as-is so validation names the field. */
const num = (value: string): number | string => (/^-?\d+$/.test(value) ? Number(value) : value);

/** The profile as the validator sees it: unknown enum values become undefined and are reported. */
export function profileInput(tenantId: string, profile: billingV1.BillingProfile | undefined): unknown {
  if (!profile) return { tenantId };
  return {
    tenantId,
    buyer: profile.buyer && {
      ...profile.buyer,
      address: profile.buyer.address,
    },
    sites: profile.sites,
    voicePackagePrice: num(profile.voicePackagePrice),
    recurringFees: profile.recurringFees.map((fee) => ({ ...fee, unitPrice: num(fee.unitPrice) })),
    oneOffItems: profile.oneOffItems.map((item) => ({ ...item, unitPrice: num(item.unitPrice) })),
    allocation: profile.allocation && {
      method: methodOf(profile.allocation.method),
      overrides: profile.allocation.overrides.map((override) => ({
        category: categoryOf(override.category),
        method: methodOf(override.method),
      })),
    },
    // Empty means "by the buyer's country".
    ...(profile.language ? { language: profile.language } : {}),
    creditNoteForNegativeTotal: profile.creditNoteForNegativeTotal,
  };
}

export function wireProfile(profile: BillingProfile): billingV1.BillingProfile {
  return {
    tenantId: profile.tenantId,
    buyer: { ...profile.buyer, address: { ...profile.buyer.address } },
    sites: profile.sites.map((site) => ({ ...site })),
    voicePackagePrice: String(profile.voicePackagePrice),
    recurringFees: profile.recurringFees.map((fee) => ({ ...fee, unitPrice: String(fee.unitPrice) })),
    oneOffItems: profile.oneOffItems.map((item) => ({ ...item, unitPrice: String(item.unitPrice) })),
    allocation: {
      method: wireMethod(profile.allocation.method),
      overrides: profile.allocation.overrides.map((override) => ({
        category: wireCategory(override.category),
        method: wireMethod(override.method),
      })),
    },
    language: languageOf(profile),
    creditNoteForNegativeTotal: profile.creditNoteForNegativeTotal === true,
  };
}

export function wireInvoice(invoice: InvoiceRecord): billingV1.Invoice {
  return {
    tenantId: invoice.tenantId,
    month: invoice.month,
    invoiceNumber: invoice.invoiceNumber,
    issuedAt: invoice.issuedAt,
    periodStart: invoice.periodStart,
    periodEnd: invoice.periodEnd,
    dueDate: invoice.dueDate,
    lines: invoice.lines.map((line) => ({
      category: wireCategory(line.category),
      description: line.description,
      destinationClass: line.destinationClass,
      correctedMonth: line.correctedMonth,
      quantityMilli: String(line.quantityMilli),
      unitCode: line.unitCode,
      amount: String(line.amount),
      netCents: String(line.netCents),
      unitPrice: String(line.unitPrice),
      correctionReason: line.correctionReason ?? '',
    })),
    netCents: String(invoice.netCents),
    vatRatePercent: invoice.vatRatePercent,
    vatCents: String(invoice.vatCents),
    grossCents: String(invoice.grossCents),
    allocation: invoice.allocation.map((share) => ({
      siteId: share.siteId,
      siteName: share.siteName,
      netCents: String(share.netCents),
      vatCents: String(share.vatCents),
      grossCents: String(share.grossCents),
      lineNetCents: share.lineNetCents.map(String),
    })),
    legCount: String(invoice.legCount),
    language: invoice.language,
    documentType:
      invoice.documentType === 'credit-note'
        ? billingV1.DocumentType.DOCUMENT_TYPE_CREDIT_NOTE
        : billingV1.DocumentType.DOCUMENT_TYPE_INVOICE,
  };
}

export function wireLeg(leg: StoredLeg): ratingV1.RatedLeg {
  return {
    tenantId: leg.tenantId,
    callId: leg.callId,
    legId: leg.legId,
    siteId: leg.siteId,
    startedAt: leg.startedAt,
    billingMonth: leg.billingMonth,
    destination: leg.destination,
    destinationClass: leg.destinationClass,
    durationSeconds: leg.durationSeconds,
    billedSeconds: leg.billedSeconds,
    pool: leg.pool,
    bundleSeconds: leg.bundleSeconds,
    overageSeconds: leg.overageSeconds,
    connectionFee: String(leg.connectionFee),
    amount: String(leg.amount),
    tariffId: leg.tariffId,
    tariffVersion: leg.tariffVersion,
    ratingVersion: leg.ratingVersion,
    traceparent: leg.traceparent ?? '',
    charges: (leg.charges ?? []).map((charge) => ({
      pricePerMinute: String(charge.pricePerMinute),
      seconds: charge.seconds,
      amount: String(charge.amount),
    })),
  };
}
