import PDFDocument from 'pdfkit';
import type { InvoiceRecord } from './invoices.js';
import { formatCents, formatMilli } from './money.js';

const MARGIN = 50;
const PAGE_BOTTOM = 842 - MARGIN - 20;

type Column = { label: string; width: number; align: 'left' | 'right' };

function table(doc: PDFKit.PDFDocument, columns: readonly Column[], rows: readonly string[][]): void {
  const drawRow = (cells: readonly string[], bold: boolean) => {
    if (doc.y > PAGE_BOTTOM) doc.addPage();
    const y = doc.y;
    let x = MARGIN;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8);
    let height = 0;
    columns.forEach((column, index) => {
      const cell = cells[index] ?? '';
      doc.text(cell, x, y, { width: column.width - 4, align: column.align });
      height = Math.max(height, doc.heightOfString(cell, { width: column.width - 4 }));
      x += column.width;
    });
    doc.x = MARGIN;
    doc.y = y + height + 3;
  };
  drawRow(
    columns.map((column) => column.label),
    true,
  );
  for (const row of rows) drawRow(row, false);
}

const eur = (cents: number) => `${formatCents(cents)} EUR`;

/**
 * The invoice as a PDF: seller, buyer, lines, VAT and totals, then the annex that splits every
 * amount over the sites. Metadata dates are the issue date, so one invoice always renders alike.
 */
export function renderInvoicePdf(invoice: InvoiceRecord): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: {
      Title: `Invoice ${invoice.invoiceNumber}`,
      Author: invoice.seller.name,
      CreationDate: invoice.issuedAt,
      ModDate: invoice.issuedAt,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const { seller, buyer } = invoice;

  doc.font('Helvetica').fontSize(8).text(`${seller.name} · ${seller.street} · ${seller.postalCode} ${seller.city}`);
  doc.moveDown();
  doc
    .fontSize(10)
    .text(buyer.name)
    .text(buyer.address.street)
    .text(`${buyer.address.postalCode} ${buyer.address.city}`);
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(16).text(`Invoice ${invoice.invoiceNumber}`);
  doc.font('Helvetica').fontSize(9);
  doc.text(`Issue date: ${invoice.issuedAt.toISOString().slice(0, 10)}    Due date: ${invoice.dueDate}`);
  doc.text(`Billing period: ${invoice.periodStart} to ${invoice.periodEnd}`);
  doc.text(`Buyer reference (Leitweg-ID): ${buyer.leitwegId}`);
  doc.text(`Seller VAT id: ${seller.vatId}${buyer.vatId ? `    Buyer VAT id: ${buyer.vatId}` : ''}`);
  doc.moveDown();

  table(
    doc,
    [
      { label: '#', width: 25, align: 'left' },
      { label: 'Description', width: 290, align: 'left' },
      { label: 'Quantity', width: 70, align: 'right' },
      { label: 'Unit', width: 40, align: 'left' },
      { label: 'Net', width: 70, align: 'right' },
    ],
    invoice.lines.map((line, index) => [
      String(index + 1),
      line.description,
      formatMilli(line.quantityMilli),
      line.unitCode === 'MIN' ? 'min' : 'pc',
      eur(line.netCents),
    ]),
  );
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(10);
  doc.text(`Net total: ${eur(invoice.netCents)}`, { align: 'right' });
  doc.text(`VAT ${invoice.vatRatePercent} %: ${eur(invoice.vatCents)}`, { align: 'right' });
  doc.text(`Total due: ${eur(invoice.grossCents)}`, { align: 'right' });
  doc.moveDown();
  doc.font('Helvetica').fontSize(8);
  doc.text(
    `Please transfer ${eur(invoice.grossCents)} by ${invoice.dueDate} to IBAN ${seller.iban}, BIC ${seller.bic}, ` +
      `reference ${invoice.invoiceNumber}. Contact: ${seller.contactName}, ${seller.contactPhone}, ${seller.contactEmail}.`,
  );

  doc.addPage();
  doc.font('Helvetica-Bold').fontSize(14).text(`Annex: allocation to sites (${invoice.allocation.length})`);
  doc.font('Helvetica').fontSize(8).text(`Invoice ${invoice.invoiceNumber}; site shares add up to the totals exactly.`);
  doc.moveDown();
  table(
    doc,
    [
      { label: 'Site', width: 60, align: 'left' },
      { label: 'Name', width: 205, align: 'left' },
      { label: 'Net', width: 80, align: 'right' },
      { label: 'VAT', width: 70, align: 'right' },
      { label: 'Gross', width: 80, align: 'right' },
    ],
    [
      ...invoice.allocation.map((share) => [
        share.siteId,
        share.siteName,
        eur(share.netCents),
        eur(share.vatCents),
        eur(share.grossCents),
      ]),
      ['', 'Total', eur(invoice.netCents), eur(invoice.vatCents), eur(invoice.grossCents)],
    ],
  );
  doc.end();
  return done;
}
