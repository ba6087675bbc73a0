import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { InvoiceRecord } from './invoices.js';
import { formatCents, formatMilli } from './money.js';

export const XRECHNUNG_CUSTOMIZATION_ID = 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0';
export const PEPPOL_PROFILE_ID = 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0';
const NS = {
  invoice: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
};
const CURRENCY = 'EUR';
/** UNTDID 4461: SEPA credit transfer. */
const SEPA_CREDIT_TRANSFER = '58';
/** UNTDID 1001: commercial invoice. */
const COMMERCIAL_INVOICE = '380';

const amount = (parent: XMLBuilder, name: string, cents: number) =>
  parent.ele(`cbc:${name}`, { currencyID: CURRENCY }).txt(formatCents(cents));

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

/**
 * The invoice as an XRechnung 3.0 e-invoice in UBL 2.1 syntax (EN 16931 with the German CIUS):
 * BT-10 buyer reference = Leitweg-ID, seller contact (BG-6), seller VAT id (BT-31), payment
 * means 58 with the seller's IBAN (BT-84), one VAT breakdown at the standard rate.
 */
export function renderXRechnung(invoice: InvoiceRecord): string {
  const { seller, buyer } = invoice;
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.invoice, 'Invoice', {
    'xmlns:cac': NS.cac,
    'xmlns:cbc': NS.cbc,
  });
  root.ele('cbc:CustomizationID').txt(XRECHNUNG_CUSTOMIZATION_ID);
  root.ele('cbc:ProfileID').txt(PEPPOL_PROFILE_ID);
  root.ele('cbc:ID').txt(invoice.invoiceNumber);
  root.ele('cbc:IssueDate').txt(invoice.issuedAt.toISOString().slice(0, 10));
  root.ele('cbc:DueDate').txt(invoice.dueDate);
  root.ele('cbc:InvoiceTypeCode').txt(COMMERCIAL_INVOICE);
  root.ele('cbc:DocumentCurrencyCode').txt(CURRENCY);
  root.ele('cbc:BuyerReference').txt(buyer.leitwegId);
  const period = root.ele('cac:InvoicePeriod');
  period.ele('cbc:StartDate').txt(invoice.periodStart);
  period.ele('cbc:EndDate').txt(invoice.periodEnd);

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
  means.ele('cbc:PaymentMeansCode').txt(SEPA_CREDIT_TRANSFER);
  means.ele('cbc:PaymentID').txt(invoice.invoiceNumber);
  const account = means.ele('cac:PayeeFinancialAccount');
  account.ele('cbc:ID').txt(seller.iban);
  account.ele('cbc:Name').txt(seller.name);
  account.ele('cac:FinancialInstitutionBranch').ele('cbc:ID').txt(seller.bic);
  root
    .ele('cac:PaymentTerms')
    .ele('cbc:Note')
    .txt(`Payable within ${seller.paymentTermsDays} days, by ${invoice.dueDate}, without deduction.`);

  const taxTotal = root.ele('cac:TaxTotal');
  amount(taxTotal, 'TaxAmount', invoice.vatCents);
  const subtotal = taxTotal.ele('cac:TaxSubtotal');
  amount(subtotal, 'TaxableAmount', invoice.netCents);
  amount(subtotal, 'TaxAmount', invoice.vatCents);
  taxCategory(subtotal, 'TaxCategory', invoice.vatRatePercent);

  const totals = root.ele('cac:LegalMonetaryTotal');
  amount(totals, 'LineExtensionAmount', invoice.netCents);
  amount(totals, 'TaxExclusiveAmount', invoice.netCents);
  amount(totals, 'TaxInclusiveAmount', invoice.grossCents);
  amount(totals, 'PayableAmount', invoice.grossCents);

  invoice.lines.forEach((line, index) => {
    const element = root.ele('cac:InvoiceLine');
    element.ele('cbc:ID').txt(String(index + 1));
    element.ele('cbc:InvoicedQuantity', { unitCode: line.unitCode }).txt(formatMilli(line.quantityMilli));
    amount(element, 'LineExtensionAmount', line.netCents);
    const item = element.ele('cac:Item');
    item.ele('cbc:Name').txt(line.description);
    taxCategory(item, 'ClassifiedTaxCategory', invoice.vatRatePercent);
    // Price per base quantity = the whole line, so quantity × price equals the line net exactly
    // (BR-27 forbids a negative price: a credit line has a negative quantity instead).
    const price = element.ele('cac:Price');
    amount(price, 'PriceAmount', Math.abs(line.netCents));
    price.ele('cbc:BaseQuantity', { unitCode: line.unitCode }).txt(formatMilli(Math.abs(line.quantityMilli)));
  });
  return root.end({ prettyPrint: true });
}
