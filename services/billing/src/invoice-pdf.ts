import PDFDocument from 'pdfkit';
import { priceTimesQuantityCents, type InvoiceLine } from './invoice.js';
import type { InvoiceRecord } from './invoices.js';
import { formatDate, formatEuros, formatInstant, formatNumber, type Language } from './language.js';
import { invoicingPeriod, type PrecedingInvoice } from './xrechnung.js';

const MARGIN = 50;
/** Lines per annex table: eight amount columns fit a landscape A4 page beside the site. */
const ANNEX_LINES_PER_TABLE = 8;

const TEXTS = {
  de: {
    invoice: 'Rechnung',
    // Not "Gutschrift", which German VAT law (§ 14 UStG) reserves for self-billing by the buyer.
    creditNote: 'Rechnungskorrektur',
    issueDate: 'Rechnungsdatum',
    creditDate: 'Datum',
    dueDate: 'Fällig am',
    period: 'Leistungszeitraum',
    buyerReference: 'Leitweg-ID',
    sellerVatId: 'USt-IdNr. des Leistenden',
    buyerVatId: 'USt-IdNr. des Empfängers',
    corrects: (number: string, date: string) => `Korrigiert Rechnung ${number}${date ? ` vom ${date}` : ''}`,
    columns: ['Pos.', 'Bezeichnung', 'Menge', 'Einheit', 'Einzelpreis', 'Netto'],
    units: { MIN: 'Min.', C62: 'Stk.' },
    rounding: (amount: string) => `inkl. Rundungsausgleich ${amount} (je Verbindung gerundet)`,
    net: 'Nettobetrag',
    vat: (rate: number) => `Umsatzsteuer ${rate} %`,
    total: 'Gesamtbetrag',
    credit: 'Erstattungsbetrag',
    pay: (amount: string, due: string, iban: string, bic: string, reference: string) =>
      `Bitte überweisen Sie ${amount} bis zum ${due} auf das Konto IBAN ${iban}, BIC ${bic}, ` +
      `Verwendungszweck ${reference}.`,
    refund: (amount: string, days: number) => `Wir erstatten Ihnen ${amount} innerhalb von ${days} Tagen.`,
    contact: (name: string, phone: string, email: string) => `Ansprechpartner: ${name}, ${phone}, ${email}.`,
    annex: (sites: number) => `Anlage: Aufteilung auf die Standorte (${sites})`,
    annexNote: (number: string) =>
      `Rechnung ${number}. Die Anteile der Standorte ergeben die Rechnungsbeträge auf den Cent genau.`,
    annexLines: (from: number, to: number) => `Anteile je Rechnungsposition (Pos. ${from} bis ${to}, netto)`,
    site: 'Standort',
    name: 'Name',
    gross: 'Brutto',
    vatShort: 'USt',
    sum: 'Summe',
    position: 'Pos.',
  },
  en: {
    invoice: 'Invoice',
    creditNote: 'Credit note',
    issueDate: 'Issue date',
    creditDate: 'Issue date',
    dueDate: 'Due date',
    period: 'Billing period',
    buyerReference: 'Buyer reference (Leitweg-ID)',
    sellerVatId: 'Seller VAT id',
    buyerVatId: 'Buyer VAT id',
    corrects: (number: string, date: string) => `Corrects invoice ${number}${date ? ` of ${date}` : ''}`,
    columns: ['#', 'Description', 'Quantity', 'Unit', 'Unit price', 'Net'],
    units: { MIN: 'min', C62: 'pc' },
    rounding: (amount: string) => `incl. rounding ${amount} (amounts rounded per leg)`,
    net: 'Net total',
    vat: (rate: number) => `VAT ${rate} %`,
    total: 'Total due',
    credit: 'Total credit',
    pay: (amount: string, due: string, iban: string, bic: string, reference: string) =>
      `Please transfer ${amount} by ${due} to IBAN ${iban}, BIC ${bic}, reference ${reference}.`,
    refund: (amount: string, days: number) => `We will refund ${amount} within ${days} days.`,
    contact: (name: string, phone: string, email: string) => `Contact: ${name}, ${phone}, ${email}.`,
    annex: (sites: number) => `Annex: allocation to sites (${sites})`,
    annexNote: (number: string) => `Invoice ${number}; site shares add up to the totals exactly.`,
    annexLines: (from: number, to: number) => `Shares per invoice line (lines ${from} to ${to}, net)`,
    site: 'Site',
    name: 'Name',
    gross: 'Gross',
    vatShort: 'VAT',
    sum: 'Total',
    position: '#',
  },
} as const;

type Column = { label: string; width: number; align: 'left' | 'right' };

/** A table that breaks across pages and repeats its header on each. */
function table(doc: PDFKit.PDFDocument, columns: readonly Column[], rows: readonly string[][]): void {
  const drawRow = (cells: readonly string[], bold: boolean) => {
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8);
    const height = Math.max(
      ...columns.map((column, index) => doc.heightOfString(cells[index] ?? '', { width: column.width - 4 })),
    );
    const y = doc.y;
    let x = MARGIN;
    columns.forEach((column, index) => {
      doc.text(cells[index] ?? '', x, y, { width: column.width - 4, align: column.align });
      x += column.width;
    });
    doc.x = MARGIN;
    doc.y = y + height + 3;
  };
  const header = columns.map((column) => column.label);
  drawRow(header, true);
  for (const row of rows) {
    if (doc.y > doc.page.height - MARGIN - 30) {
      doc.addPage({ size: 'A4', layout: doc.page.width > doc.page.height ? 'landscape' : 'portrait', margin: MARGIN });
      drawRow(header, true);
    }
    drawRow(row, row[0] === '' && row !== rows[0]);
  }
}

/** 1/10,000 EUR per unit as the reader writes it, with two to four decimals: `0,015 €`. */
const unitPrice = (tenThousandths: number, language: Language) => {
  const amount = formatNumber(tenThousandths, 4, language, 2);
  return language === 'de' ? `${amount} €` : `EUR ${amount}`;
};

/** One line; a credit note (`sign` −1) states it with the opposite sign, so credits are positive. */
function lineRow(line: InvoiceLine, index: number, language: Language, sign: 1 | -1): string[] {
  const texts = TEXTS[language];
  const rest = sign * (line.netCents - priceTimesQuantityCents(line));
  const restText = `${rest > 0 ? '+' : ''}${formatEuros(rest, language)}`;
  return [
    String(index + 1),
    rest === 0 ? line.description : `${line.description}\n${texts.rounding(restText)}`,
    formatNumber(sign * line.quantityMilli, 3, language, 0),
    texts.units[line.unitCode],
    unitPrice(line.unitPrice, language),
    formatEuros(sign * line.netCents, language),
  ];
}

/**
 * The invoice as a PDF in the buyer's language: seller, buyer, the invoices corrected, lines with
 * quantity and contract unit price, VAT and totals; then the annex that splits the totals and
 * every line over the sites. A credit note shows the credit as positive amounts. Metadata dates
 * are the issue date, so one invoice always renders alike.
 */
export function renderInvoicePdf(invoice: InvoiceRecord, preceding: readonly PrecedingInvoice[] = []): Promise<Buffer> {
  const language = invoice.language;
  const texts = TEXTS[language];
  const credit = invoice.documentType === 'credit-note';
  const sign: 1 | -1 = credit ? -1 : 1;
  const euros = (cents: number) => formatEuros(sign * cents, language);
  const title = `${credit ? texts.creditNote : texts.invoice} ${invoice.invoiceNumber}`;
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    lang: language,
    info: {
      Title: title,
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
  doc.font('Helvetica-Bold').fontSize(16).text(title);
  doc.font('Helvetica').fontSize(9);
  doc.text(
    `${credit ? texts.creditDate : texts.issueDate}: ${formatInstant(invoice.issuedAt, language)}` +
      (credit ? '' : `    ${texts.dueDate}: ${formatDate(invoice.dueDate, language)}`),
  );
  // The same period as the XRechnung: corrections reach back to the months they correct.
  const period = invoicingPeriod(invoice);
  doc.text(`${texts.period}: ${formatDate(period.start, language)} – ${formatDate(period.end, language)}`);
  doc.text(`${texts.buyerReference}: ${buyer.leitwegId}`);
  doc.text(`${texts.sellerVatId}: ${seller.vatId}${buyer.vatId ? `    ${texts.buyerVatId}: ${buyer.vatId}` : ''}`);
  for (const reference of preceding) {
    doc.text(
      texts.corrects(reference.invoiceNumber, reference.issueDate ? formatDate(reference.issueDate, language) : ''),
    );
  }
  doc.moveDown();

  const [position, description, quantity, unit, price, net] = texts.columns;
  table(
    doc,
    [
      { label: position, width: 25, align: 'left' },
      { label: description, width: 225, align: 'left' },
      { label: quantity, width: 60, align: 'right' },
      { label: unit, width: 35, align: 'left' },
      { label: price, width: 65, align: 'right' },
      { label: net, width: 85, align: 'right' },
    ],
    invoice.lines.map((line, index) => lineRow(line, index, language, sign)),
  );
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(10);
  doc.text(`${texts.net}: ${euros(invoice.netCents)}`, { align: 'right' });
  doc.text(`${texts.vat(invoice.vatRatePercent)}: ${euros(invoice.vatCents)}`, { align: 'right' });
  doc.text(`${credit ? texts.credit : texts.total}: ${euros(invoice.grossCents)}`, { align: 'right' });
  doc.moveDown();
  doc.font('Helvetica').fontSize(8);
  const owed = sign * invoice.grossCents;
  doc.text(
    !credit && owed > 0
      ? texts.pay(
          euros(invoice.grossCents),
          formatDate(invoice.dueDate, language),
          seller.iban,
          seller.bic,
          invoice.invoiceNumber,
        )
      : texts.refund(formatEuros(Math.abs(invoice.grossCents), language), seller.paymentTermsDays),
  );
  doc.text(texts.contact(seller.contactName, seller.contactPhone, seller.contactEmail));

  doc.addPage({ size: 'A4', layout: 'landscape', margin: MARGIN });
  doc.font('Helvetica-Bold').fontSize(14).text(texts.annex(invoice.allocation.length));
  doc.font('Helvetica').fontSize(8).text(texts.annexNote(invoice.invoiceNumber));
  doc.moveDown();
  table(
    doc,
    [
      { label: texts.site, width: 80, align: 'left' },
      { label: texts.name, width: 250, align: 'left' },
      { label: texts.net, width: 120, align: 'right' },
      { label: texts.vatShort, width: 120, align: 'right' },
      { label: texts.gross, width: 120, align: 'right' },
    ],
    [
      ...invoice.allocation.map((share) => [
        share.siteId,
        share.siteName,
        euros(share.netCents),
        euros(share.vatCents),
        euros(share.grossCents),
      ]),
      ['', texts.sum, euros(invoice.netCents), euros(invoice.vatCents), euros(invoice.grossCents)],
    ],
  );
  for (let first = 0; first < invoice.lines.length; first += ANNEX_LINES_PER_TABLE) {
    const lines = invoice.lines.slice(first, first + ANNEX_LINES_PER_TABLE);
    doc.addPage({ size: 'A4', layout: 'landscape', margin: MARGIN });
    doc
      .font('Helvetica-Bold')
      .fontSize(11)
      .text(texts.annexLines(first + 1, first + lines.length));
    doc.moveDown(0.5);
    table(
      doc,
      [
        { label: texts.site, width: 78, align: 'left' },
        ...lines.map((_line, offset) => ({
          label: `${texts.position} ${first + offset + 1}`,
          width: 83,
          align: 'right' as const,
        })),
      ],
      [
        ...invoice.allocation.map((share) => [
          share.siteId,
          ...lines.map((_line, offset) => euros(share.lineNetCents[first + offset] ?? 0)),
        ]),
        ['', ...lines.map((line) => euros(line.netCents))],
      ],
    );
  }
  doc.end();
  return done;
}
