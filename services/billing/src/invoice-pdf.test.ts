import { describe, expect, it } from 'vitest';
import { storyInvoice } from '../test/invoice-fixture.js';
import { pdfPages } from '../test/pdf-text.js';
import { renderInvoicePdf } from './invoice-pdf.js';
import { formatCents } from './money.js';

describe('invoice PDF', () => {
  it('parses back with the totals, the lines and an annex naming all 47 sites', async () => {
    const invoice = storyInvoice();
    const pages = await pdfPages(await renderInvoicePdf(invoice));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    const [first = ''] = pages;
    expect(first).toContain(`Invoice ${invoice.invoiceNumber}`);
    expect(first).toContain(`Total due: ${formatCents(invoice.grossCents)} EUR`);
    expect(first).toContain(`VAT 19 %: ${formatCents(invoice.vatCents)} EUR`);
    expect(first).toContain(invoice.buyer.leitwegId);
    expect(first).toContain(invoice.seller.iban);
    for (const line of invoice.lines) expect(first).toContain(`${formatCents(line.netCents)} EUR`);
    const annex = pages.slice(1).join(' ');
    expect(annex).toContain('Annex: allocation to sites (47)');
    for (const share of invoice.allocation) {
      expect(annex).toContain(share.siteId);
      expect(annex).toContain(`${formatCents(share.grossCents)} EUR`);
    }
  });

  it('renders one invoice identically every time', async () => {
    const invoice = storyInvoice();
    expect(Buffer.compare(await renderInvoicePdf(invoice), await renderInvoicePdf(invoice))).toBe(0);
  });
});
