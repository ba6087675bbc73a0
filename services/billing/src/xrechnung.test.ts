import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'xmlbuilder2';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { storyInvoice } from '../test/invoice-fixture.js';
import { buildInvoice } from './invoice.js';
import { formatCents } from './money.js';
import { storyProfile } from '../test/story-month.js';
import { XRECHNUNG_CUSTOMIZATION_ID, renderXRechnung } from './xrechnung.js';

const UBL_DIR = fileURLToPath(new URL('../test/ubl-2.1/', import.meta.url));

async function validateAgainstUbl(xml: string) {
  const preload = [];
  for (const folder of ['common', 'maindoc']) {
    for (const name of await readdir(path.join(UBL_DIR, folder))) {
      preload.push({
        fileName: `${folder}/${name}`,
        contents: await readFile(path.join(UBL_DIR, folder, name), 'utf8'),
      });
    }
  }
  return validateXML({
    xml: { fileName: 'invoice.xml', contents: xml },
    schema: {
      fileName: 'invoice-validation.xsd',
      contents: await readFile(path.join(UBL_DIR, 'invoice-validation.xsd'), 'utf8'),
    },
    preload,
    maxMemoryPages: 4096,
  });
}

type Node = Record<string, unknown>;
const child = (node: unknown, name: string): Node => (node as Node)[name] as Node;
const many = (node: unknown, name: string): Node[] => {
  const value = (node as Node)[name];
  return Array.isArray(value) ? (value as Node[]) : value === undefined ? [] : [value as Node];
};
const text = (node: unknown): string =>
  typeof node === 'string' ? node : String((node as Node | undefined)?.['#'] ?? '');
const cents = (node: unknown) => Math.round(Number(text(node)) * 100);

/**
 * The EN 16931 and XRechnung 3.0 business rules this invoice could break, checked by hand
 * because the KoSIT Schematron is not obtainable from the package registries.
 */
function checkBusinessRules(xml: string): string[] {
  const doc = child(create(xml).end({ format: 'object' }) as Node, 'Invoice');
  const problems: string[] = [];
  const expect = (rule: string, ok: boolean) => ok || problems.push(rule);
  expect('BT-24 CustomizationID', text(doc['cbc:CustomizationID']) === XRECHNUNG_CUSTOMIZATION_ID);
  expect('BR-DE-15 BT-10 buyer reference', text(doc['cbc:BuyerReference']).length > 0);
  expect('BT-3 type code 380', text(doc['cbc:InvoiceTypeCode']) === '380');
  expect('BR-DE-1 payment means', many(doc, 'cac:PaymentMeans').length === 1);
  const means = child(doc, 'cac:PaymentMeans');
  expect('BT-81 code 58', text(means['cbc:PaymentMeansCode']) === '58');
  expect('BR-DE-19 IBAN for 58', /^[A-Z]{2}\d{2}/.test(text(child(means, 'cac:PayeeFinancialAccount')['cbc:ID'])));
  const seller = child(child(doc, 'cac:AccountingSupplierParty'), 'cac:Party');
  const contact = child(seller, 'cac:Contact');
  expect('BR-DE-2 seller contact', Boolean(contact));
  expect('BR-DE-5 contact name', text(contact['cbc:Name']).length > 0);
  expect('BR-DE-6 contact phone', text(contact['cbc:Telephone']).length > 0);
  expect('BR-DE-7 contact e-mail', text(contact['cbc:ElectronicMail']).includes('@'));
  expect('BT-31 seller VAT id', /^DE\d{9}$/.test(text(child(seller, 'cac:PartyTaxScheme')['cbc:CompanyID'])));
  expect('BR-DE-3 seller city', text(child(seller, 'cac:PostalAddress')['cbc:CityName']).length > 0);
  expect('BR-DE-4 seller post code', text(child(seller, 'cac:PostalAddress')['cbc:PostalZone']).length > 0);
  expect('BT-34 seller endpoint', text(seller['cbc:EndpointID']).length > 0);
  const buyer = child(child(doc, 'cac:AccountingCustomerParty'), 'cac:Party');
  expect('BT-49 buyer endpoint', text(buyer['cbc:EndpointID']).length > 0);
  expect('BR-DE-8 buyer city', text(child(buyer, 'cac:PostalAddress')['cbc:CityName']).length > 0);
  expect('BR-DE-9 buyer post code', text(child(buyer, 'cac:PostalAddress')['cbc:PostalZone']).length > 0);

  const lines = many(doc, 'cac:InvoiceLine');
  const lineSum = lines.reduce((sum, line) => sum + cents(line['cbc:LineExtensionAmount']), 0);
  const totals = child(doc, 'cac:LegalMonetaryTotal');
  expect('BR-CO-10 sum of lines', lineSum === cents(totals['cbc:LineExtensionAmount']));
  const taxTotal = child(doc, 'cac:TaxTotal');
  const subtotal = child(taxTotal, 'cac:TaxSubtotal');
  const vat = cents(taxTotal['cbc:TaxAmount']);
  expect('BR-CO-13 tax exclusive', cents(totals['cbc:TaxExclusiveAmount']) === lineSum);
  expect('BR-CO-15 tax inclusive', cents(totals['cbc:TaxInclusiveAmount']) === lineSum + vat);
  expect('BR-CO-14 VAT total', cents(subtotal['cbc:TaxAmount']) === vat);
  expect('BR-S-8 taxable amount', cents(subtotal['cbc:TaxableAmount']) === lineSum);
  expect('BR-CO-17 VAT = base × rate', vat === Math.round((lineSum * 19) / 100));
  expect(
    'BR-S-5 line VAT rate',
    lines.every((line) => text(child(child(line, 'cac:Item'), 'cac:ClassifiedTaxCategory')['cbc:Percent']) === '19'),
  );
  expect(
    'BR-27 price not negative, quantity × price = line net',
    lines.every((line) => {
      const price = child(line, 'cac:Price');
      const priceAmount = Number(text(price['cbc:PriceAmount']));
      const base = Number(text(price['cbc:BaseQuantity']));
      const quantity = Number(text(line['cbc:InvoicedQuantity']));
      return (
        priceAmount >= 0 && Math.round((quantity * priceAmount * 100) / base) === cents(line['cbc:LineExtensionAmount'])
      );
    }),
  );
  expect('BR-CO-25 due date or terms', text(doc['cbc:DueDate']).length === 10);
  return problems;
}

describe('XRechnung 3.0 (UBL 2.1)', () => {
  const invoice = storyInvoice();
  const xml = renderXRechnung(invoice);

  it('is valid against the OASIS UBL 2.1 Invoice schema', async () => {
    const result = await validateAgainstUbl(xml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('schema validation does catch a broken document', async () => {
    const broken = xml.replace('<cbc:IssueDate>', '<cbc:IssueDate>not-a-date');
    expect((await validateAgainstUbl(broken)).valid).toBe(false);
  });

  it('meets the EN 16931 / XRechnung rules checked here', () => {
    expect(checkBusinessRules(xml)).toEqual([]);
    expect(xml).toContain(`<cbc:BuyerReference>${invoice.buyer.leitwegId}</cbc:BuyerReference>`);
    expect(xml).toContain(`<cbc:PayableAmount currencyID="EUR">${formatCents(invoice.grossCents)}</cbc:PayableAmount>`);
  });

  it('states a credit correction as a negative quantity at a non-negative price', async () => {
    const credited = {
      ...invoice,
      ...buildInvoice(
        storyProfile('t-kropp'),
        '2026-04',
        [],
        [
          {
            month: '2026-03',
            siteId: 'site-02',
            destinationClass: 'de-mobile',
            reason: 'rerated',
            amount: -123_456,
            billedSeconds: -8_230,
            charges: [{ pricePerMinute: 900, seconds: -8_230, amount: -123_456 }],
            connectionFees: [],
            legs: 1,
          },
        ],
      ),
    };
    const creditXml = renderXRechnung(credited);
    expect(checkBusinessRules(creditXml)).toEqual([]);
    expect((await validateAgainstUbl(creditXml)).valid).toBe(true);
    expect(creditXml).toContain('<cbc:InvoicedQuantity unitCode="C62">-1</cbc:InvoicedQuantity>');
  });
});
