import { beforeAll, describe, expect, it } from 'vitest';
import { invoiceRecord, invoiceVariants, storyInvoice, MARCH_INVOICE } from '../test/invoice-fixture.js';
import { storyMonth, storyProfile } from '../test/story-month.js';
import { validateXRechnungAll, type Validation } from '../test/validate-xrechnung.js';
import { priceTimesQuantityCents, type CorrectionRow } from './invoice.js';
import { formatCents } from './money.js';
import { usageRowsOf } from './sums.js';
import { renderXRechnung } from './xrechnung.js';

const variants = invoiceVariants().map((variant) => ({
  ...variant,
  xml: renderXRechnung(variant.invoice, variant.preceding),
}));
// Seeded months with late legs of the month before, as a sweep over amounts, minutes and rounding.
const sweep = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
  const late = usageRowsOf(storyMonth('t-kropp', '2026-03', seed + 100, 40)).map(
    ({ pool: _pool, bundleSeconds: _bundle, overageSeconds: _overage, ...row }): CorrectionRow => ({
      ...row,
      month: '2026-03',
      reason: 'late',
    }),
  );
  const usage = usageRowsOf(storyMonth('t-kropp', '2026-04', seed, 400));
  return renderXRechnung(invoiceRecord(storyProfile('t-kropp'), '2026-04', usage, late), [MARCH_INVOICE]);
});
const story = variants[0]!;
// Broken on purpose: no buyer reference (BR-DE-15) and a payable amount that is not the total (BR-CO-16).
const broken = story.xml
  .replace(/<cbc:BuyerReference>[^<]*<\/cbc:BuyerReference>/, '')
  .replace('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="EUR">1');
const brokenSchema = story.xml.replace('<cbc:IssueDate>', '<cbc:IssueDate>not-a-date');
let results: Validation[];

describe('XRechnung 3.0 (UBL 2.1) under the official rules: UBL schema, EN 16931 1.3.15, XRechnung 3.0.2', () => {
  beforeAll(async () => {
    results = await validateXRechnungAll([...variants.map((variant) => variant.xml), broken, brokenSchema, ...sweep]);
    // Saxon compiles both rule sets once for the batch: seconds, more on a busy machine.
  }, 180_000);

  it.each(variants.map((variant, index) => [variant.name, index] as const))(
    '%s: no fatal or error finding',
    (_name, index) => {
      expect(results[index]?.rejections).toEqual([]);
    },
  );

  it('passes for eight seeded months with late legs of the month before', () => {
    expect(results.slice(variants.length + 2).map((result) => result.rejections)).toEqual(sweep.map(() => []));
  });

  it('reports a broken invoice, so the check can fail', () => {
    const [rules, schema] = results.slice(variants.length);
    expect(rules?.findings.map((finding) => `${finding.id} ${finding.flag}`)).toEqual(
      expect.arrayContaining(['BR-CO-16 fatal', 'BR-DE-15 fatal']),
    );
    expect(schema?.schemaErrors.length).toBeGreaterThan(0);
    expect(schema?.rejections.length).toBeGreaterThan(0);
  });
});

describe('XRechnung content', () => {
  it('carries the buyer reference, the totals and contract unit prices', () => {
    const invoice = storyInvoice();
    const xml = renderXRechnung(invoice);
    expect(xml).toContain(`<cbc:BuyerReference>${invoice.buyer.leitwegId}</cbc:BuyerReference>`);
    expect(xml).toContain(`<cbc:PayableAmount currencyID="EUR">${formatCents(invoice.grossCents)}</cbc:PayableAmount>`);
    expect(xml).toContain('<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>');
    // 2 packages at 299.00 €, de-fixed beyond the packages at 1.5 ct/min.
    expect(xml).toMatch(
      /<cbc:InvoicedQuantity unitCode="C62">2<\/cbc:InvoicedQuantity>[\s\S]*?29\.90<\/cbc:PriceAmount>/,
    );
    expect(xml).toContain('<cbc:PriceAmount currencyID="EUR">0.015</cbc:PriceAmount>');
  });

  it('closes the gap between quantity × price and the exact line net with a line allowance or charge', () => {
    expect(variants.filter((variant) => variant.xml.includes('<cac:AllowanceCharge>')).length).toBeGreaterThan(0);
    const { invoice, xml } = story;
    const lines = xml.split(/<cac:InvoiceLine>/).slice(1);
    invoice.lines.forEach((line, index) => {
      const rest = line.netCents - priceTimesQuantityCents(line);
      const element = lines[index] ?? '';
      if (rest === 0) expect(element).not.toContain('<cac:AllowanceCharge>');
      else {
        expect(element).toContain(`<cbc:ChargeIndicator>${rest > 0}</cbc:ChargeIndicator>`);
        expect(element).toContain(`<cbc:Amount currencyID="EUR">${formatCents(Math.abs(rest))}</cbc:Amount>`);
      }
    });
  });

  it('references the corrected invoice and month, with real minutes at the old and the new price', () => {
    const { xml } = variants.find((variant) => variant.name === 'rerate credit')!;
    expect(xml).toContain(
      `<cac:BillingReference>\n    <cac:InvoiceDocumentReference>\n      <cbc:ID>${MARCH_INVOICE.invoiceNumber}</cbc:ID>\n      <cbc:IssueDate>2026-04-01</cbc:IssueDate>`,
    );
    expect(xml).toMatch(
      /<cbc:InvoicedQuantity unitCode="MIN">-24\.133<\/cbc:InvoicedQuantity>[\s\S]*?<cbc:StartDate>2026-03-01<\/cbc:StartDate>\s*<cbc:EndDate>2026-03-31<\/cbc:EndDate>[\s\S]*?Gutschrift der bisherigen Bewertung[\s\S]*?0\.09<\/cbc:PriceAmount>/,
    );
    expect(xml).toMatch(
      /<cbc:InvoicedQuantity unitCode="MIN">24\.133<\/cbc:InvoicedQuantity>[\s\S]*?0\.06<\/cbc:PriceAmount>/,
    );
  });

  it('writes a negative total as a credit note with positive amounts where the buyer wants one', () => {
    const negative = variants.find((variant) => variant.name === 'negative total')!;
    const credit = variants.find((variant) => variant.name === 'credit note')!;
    expect(negative.invoice.grossCents).toBeLessThan(0);
    expect(negative.xml).toContain('<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>');
    expect(negative.xml).toContain(`${formatCents(negative.invoice.grossCents)}</cbc:PayableAmount>`);
    expect(credit.xml).toContain('<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"');
    expect(credit.xml).toContain('<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>');
    expect(credit.xml).toContain(`${formatCents(-credit.invoice.grossCents)}</cbc:PayableAmount>`);
    expect(credit.xml).toContain('<cbc:CreditedQuantity unitCode="MIN">600</cbc:CreditedQuantity>');
    expect(credit.xml).not.toContain('<cbc:DueDate>');
  });
});
