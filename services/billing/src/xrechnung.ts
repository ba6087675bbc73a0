import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { priceTimesQuantityCents, type InvoiceLine } from './invoice.js';
import type { InvoiceRecord } from './invoices.js';
import { formatCents, formatMilli } from './money.js';
import { berlinDate, monthPeriod } from './months.js';

export const XRECHNUNG_CUSTOMIZATION_ID = 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0';
export const PEPPOL_PROFILE_ID = 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0';
const UBL = 'urn:oasis:names:specification:ubl:schema:xsd';
const NS = {
  cac: `${UBL}:CommonAggregateComponents-2`,
  cbc: `${UBL}:CommonBasicComponents-2`,
};
const CURRENCY = 'EUR';
/** UNTDID 4461: SEPA credit transfer (to the seller), or no instrument named (a refund). */
const SEPA_CREDIT_TRANSFER = '58';
const INSTRUMENT_NOT_DEFINED = '1';

/** An invoice that a correction line refers to (BG-3): the corrected month's invoice. */
export interface PrecedingInvoice {
  month: string;
  invoiceNumber: string;
  /** `YYYY-MM-DD`; absent when that invoice is not in the store. */
  issueDate?: string;
}

/** The UBL document an invoice is written as: a negative total may be a credit note (381). */
const DOCUMENTS = {
  invoice: {
    root: 'Invoice',
    typeCode: 'InvoiceTypeCode',
    code: '380',
    line: 'InvoiceLine',
    quantity: 'InvoicedQuantity',
  },
  'credit-note': {
    root: 'CreditNote',
    typeCode: 'CreditNoteTypeCode',
    code: '381',
    line: 'CreditNoteLine',
    quantity: 'CreditedQuantity',
  },
} as const;

const TEXTS = {
  de: {
    payable: (days: number, due: string) => `Zahlbar innerhalb von ${days} Tagen bis ${due} ohne Abzug.`,
    refund: (days: number) => `Der Betrag wird innerhalb von ${days} Tagen erstattet.`,
    rounding: 'Rundungsausgleich: Beträge werden je Verbindung berechnet und gerundet',
  },
  en: {
    payable: (days: number, due: string) => `Payable within ${days} days, by ${due}, without deduction.`,
    refund: (days: number) => `The amount will be refunded within ${days} days.`,
    rounding: 'Rounding: amounts are rated and rounded per leg',
  },
} as const;

const amount = (parent: XMLBuilder, name: string, cents: number) =>
  parent.ele(`cbc:${name}`, { currencyID: CURRENCY }).txt(formatCents(cents));

/** 1/10,000 EUR as a decimal with at least two places: `150` → `0.015`, `299000` → `29.90`. */
function unitPrice(tenThousandths: number): string {
  const fraction = String(tenThousandths % 10_000)
    .padStart(4, '0')
    .replace(/0{1,2}$/, '');
  return `${Math.floor(tenThousandths / 10_000)}.${fraction}`;
}

function address(party: XMLBuilder, street: string, city: string, postalCode: string, countryCode: string): void {
  const postal = party.ele('cac:PostalAddress');
  postal.ele('cbc:StreetName').txt(street);
  postal.ele('cbc:CityName').txt(city);
  postal.ele('cbc:PostalZone').txt(postalCode);
  postal.ele('cac:Country').ele('cbc:IdentificationCode').txt(countryCode);
}

function taxCategory(parent: XMLBuilder, name: string, percent: number): void {
  const category = parent.ele(`cac:${name}`);
  category.ele('cbc:ID').txt('S');
  category.ele('cbc:Percent').txt(String(percent));
  category.ele('cac:TaxScheme').ele('cbc:ID').txt('VAT');
}

function period(parent: XMLBuilder, start: string, end: string): void {
  const element = parent.ele('cac:InvoicePeriod');
  element.ele('cbc:StartDate').txt(start);
  element.ele('cbc:EndDate').txt(end);
}

/**
 * The invoicing period (BG-14): the billed month, reaching back to the earliest month a correction
 * line corrects, since it must span every line's period (PEPPOL-EN16931-R110).
 */
export function invoicingPeriod(invoice: Pick<InvoiceRecord, 'lines' | 'periodStart' | 'periodEnd'>): {
  start: string;
  end: string;
} {
  const corrected = invoice.lines.map((line) => line.correctedMonth).filter(Boolean);
  const earliest = corrected.length > 0 ? monthPeriod([...corrected].sort()[0]!).start : invoice.periodStart;
  return { start: earliest < invoice.periodStart ? earliest : invoice.periodStart, end: invoice.periodEnd };
}

/**
 * One line: quantity (real minutes or pieces), the contract unit price (BT-146), the month it
 * bills as the line period (BG-26; a correction's is the corrected month), and the per-leg rounding rest as a line allowance or charge
 * so that quantity × price ± rest = line net, as EN 16931 defines the line net amount.
 */
function line(
  root: XMLBuilder,
  document: (typeof DOCUMENTS)[keyof typeof DOCUMENTS],
  invoice: InvoiceRecord,
  entry: InvoiceLine,
  index: number,
  sign: 1 | -1,
): void {
  const element = root.ele(`cac:${document.line}`);
  element.ele('cbc:ID').txt(String(index + 1));
  element.ele(`cbc:${document.quantity}`, { unitCode: entry.unitCode }).txt(formatMilli(sign * entry.quantityMilli));
  amount(element, 'LineExtensionAmount', sign * entry.netCents);
  const delivered = monthPeriod(entry.correctedMonth || invoice.month);
  period(element, delivered.start, delivered.end);
  const rest = sign * (entry.netCents - priceTimesQuantityCents(entry));
  if (rest !== 0) {
    const adjustment = element.ele('cac:AllowanceCharge');
    adjustment.ele('cbc:ChargeIndicator').txt(rest > 0 ? 'true' : 'false');
    adjustment.ele('cbc:AllowanceChargeReason').txt(TEXTS[invoice.language].rounding);
    amount(adjustment, 'Amount', Math.abs(rest));
  }
  const item = element.ele('cac:Item');
  item.ele('cbc:Name').txt(entry.description);
  taxCategory(item, 'ClassifiedTaxCategory', invoice.vatRatePercent);
  // BR-27: the price is never negative; a credit has a negative quantity instead.
  element.ele('cac:Price').ele('cbc:PriceAmount', { currencyID: CURRENCY }).txt(unitPrice(entry.unitPrice));
}

/**
 * The invoice as an XRechnung 3.0 e-invoice in UBL 2.1 syntax (EN 16931 with the German CIUS):
 * BT-10 buyer reference = Leitweg-ID, seller contact (BG-6), seller VAT id (BT-31), the invoices
 * that correction lines correct (BG-3), payment by SEPA credit transfer to the seller's IBAN
 * (BT-84) or, when the seller owes, a refund; one VAT breakdown at the standard rate. A credit
 * note (type 381) states the credit as positive amounts.
 */
export function renderXRechnung(invoice: InvoiceRecord, preceding: readonly PrecedingInvoice[] = []): string {
  const { seller, buyer } = invoice;
  const document = DOCUMENTS[invoice.documentType];
  const sign = invoice.documentType === 'credit-note' ? -1 : 1;
  const texts = TEXTS[invoice.language];
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(`${UBL}:${document.root}-2`, document.root, {
    'xmlns:cac': NS.cac,
    'xmlns:cbc': NS.cbc,
  });
  root.ele('cbc:CustomizationID').txt(XRECHNUNG_CUSTOMIZATION_ID);
  root.ele('cbc:ProfileID').txt(PEPPOL_PROFILE_ID);
  root.ele('cbc:ID').txt(invoice.invoiceNumber);
  root.ele('cbc:IssueDate').txt(berlinDate(invoice.issuedAt));
  const payable = sign * invoice.grossCents;
  const sellerPaid = payable > 0 && sign === 1;
  if (document.root === 'Invoice') root.ele('cbc:DueDate').txt(invoice.dueDate);
  root.ele(`cbc:${document.typeCode}`).txt(document.code);
  root.ele('cbc:DocumentCurrencyCode').txt(CURRENCY);
  root.ele('cbc:BuyerReference').txt(buyer.leitwegId);
  const invoicing = invoicingPeriod(invoice);
  period(root, invoicing.start, invoicing.end);
  for (const reference of [...preceding].sort((a, b) => a.month.localeCompare(b.month))) {
    const cited = root.ele('cac:BillingReference').ele('cac:InvoiceDocumentReference');
    cited.ele('cbc:ID').txt(reference.invoiceNumber);
    if (reference.issueDate) cited.ele('cbc:IssueDate').txt(reference.issueDate);
  }

  const supplier = root.ele('cac:AccountingSupplierParty').ele('cac:Party');
  supplier.ele('cbc:EndpointID', { schemeID: 'EM' }).txt(seller.contactEmail);
  supplier.ele('cac:PartyName').ele('cbc:Name').txt(seller.name);
  address(supplier, seller.street, seller.city, seller.postalCode, seller.countryCode);
  const supplierTax = supplier.ele('cac:PartyTaxScheme');
  supplierTax.ele('cbc:CompanyID').txt(seller.vatId);
  supplierTax.ele('cac:TaxScheme').ele('cbc:ID').txt('VAT');
  supplier.ele('cac:PartyLegalEntity').ele('cbc:RegistrationName').txt(seller.name);
  const contact = supplier.ele('cac:Contact');
  contact.ele('cbc:Name').txt(seller.contactName);
  contact.ele('cbc:Telephone').txt(seller.contactPhone);
  contact.ele('cbc:ElectronicMail').txt(seller.contactEmail);

  const customer = root.ele('cac:AccountingCustomerParty').ele('cac:Party');
  customer.ele('cbc:EndpointID', { schemeID: 'EM' }).txt(buyer.email);
  customer.ele('cac:PartyName').ele('cbc:Name').txt(buyer.name);
  address(customer, buyer.address.street, buyer.address.city, buyer.address.postalCode, buyer.address.countryCode);
  if (buyer.vatId) {
    const customerTax = customer.ele('cac:PartyTaxScheme');
    customerTax.ele('cbc:CompanyID').txt(buyer.vatId);
    customerTax.ele('cac:TaxScheme').ele('cbc:ID').txt('VAT');
  }
  customer.ele('cac:PartyLegalEntity').ele('cbc:RegistrationName').txt(buyer.name);

  const means = root.ele('cac:PaymentMeans');
  if (sellerPaid) {
    means.ele('cbc:PaymentMeansCode').txt(SEPA_CREDIT_TRANSFER);
    means.ele('cbc:PaymentID').txt(invoice.invoiceNumber);
    const account = means.ele('cac:PayeeFinancialAccount');
    account.ele('cbc:ID').txt(seller.iban);
    account.ele('cbc:Name').txt(seller.name);
    account.ele('cac:FinancialInstitutionBranch').ele('cbc:ID').txt(seller.bic);
  } else {
    // The seller owes the buyer: the buyer's account is not known here, so no instrument is named.
    means.ele('cbc:PaymentMeansCode').txt(INSTRUMENT_NOT_DEFINED);
    means.ele('cbc:PaymentID').txt(invoice.invoiceNumber);
  }
  root
    .ele('cac:PaymentTerms')
    .ele('cbc:Note')
    .txt(sellerPaid ? texts.payable(seller.paymentTermsDays, invoice.dueDate) : texts.refund(seller.paymentTermsDays));

  const taxTotal = root.ele('cac:TaxTotal');
  amount(taxTotal, 'TaxAmount', sign * invoice.vatCents);
  const subtotal = taxTotal.ele('cac:TaxSubtotal');
  amount(subtotal, 'TaxableAmount', sign * invoice.netCents);
  amount(subtotal, 'TaxAmount', sign * invoice.vatCents);
  taxCategory(subtotal, 'TaxCategory', invoice.vatRatePercent);

  const totals = root.ele('cac:LegalMonetaryTotal');
  amount(totals, 'LineExtensionAmount', sign * invoice.netCents);
  amount(totals, 'TaxExclusiveAmount', sign * invoice.netCents);
  amount(totals, 'TaxInclusiveAmount', sign * invoice.grossCents);
  amount(totals, 'PayableAmount', payable);

  invoice.lines.forEach((entry, index) => line(root, document, invoice, entry, index, sign));
  return root.end({ prettyPrint: true });
}
