import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceVariants, storyInvoice, MARCH_INVOICE } from '../test/invoice-fixture.js';
import { pdfPages } from '../test/pdf-text.js';
import { renderInvoicePdf } from './invoice-pdf.js';
import { formatEuros } from './language.js';

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sb-invoice-pdf-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Renders one page with poppler's pdftoppm, as a PNG and as grey levels to look at. */
async function renderPage(
  pdf: Buffer,
  page: number,
): Promise<{ png: Buffer; dark: number; width: number; height: number }> {
  const file = path.join(work, `invoice-${page}.pdf`);
  await writeFile(file, pdf);
  const base = path.join(work, `page-${page}`);
  const range = ['-f', String(page), '-l', String(page), '-r', '60', '-singlefile'];
  await run('pdftoppm', [...range, '-png', file, base]);
  await run('pdftoppm', [...range, '-gray', file, `${base}-gray`]);
  const png = await readFile(`${base}.png`);
  // PGM: "P5\n<width> <height>\n255\n" then one byte per pixel.
  const pgm = await readFile(`${base}-gray.pgm`);
  const [, width = 0, height = 0] =
    /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.toString('latin1', 0, 40))?.map(Number) ?? [];
  const pixels = pgm.subarray(pgm.length - width * height);
  const dark = pixels.reduce((count, value) => count + (value < 128 ? 1 : 0), 0) / pixels.length;
  return { png, dark, width, height };
}

describe('invoice PDF', () => {
  it('is German for a German buyer: names, decimal comma, TT.MM.JJJJ, and the annex with every site and line', async () => {
    const invoice = storyInvoice();
    expect(invoice.language).toBe('de');
    const pages = await pdfPages(await renderInvoicePdf(invoice));
    const [first = ''] = pages;
    expect(first).toContain(`Rechnung ${invoice.invoiceNumber}`);
    expect(first).toContain('Rechnungsdatum: 01.04.2026');
    expect(first).toContain('Leistungszeitraum: 01.03.2026 – 31.03.2026');
    expect(first).toContain('Sprachpaket Festnetz und Mobilfunk');
    expect(first).toContain('Minuten über Paket – Festnetz Deutschland');
    expect(first).toContain('0,015 €');
    expect(first).toContain('29,90 €');
    expect(first).toContain(`Gesamtbetrag: ${formatEuros(invoice.grossCents, 'de')}`);
    expect(formatEuros(invoice.grossCents, 'de')).toMatch(/^\d{1,3}(\.\d{3})*,\d{2} €$/);
    expect(first).toContain(invoice.buyer.leitwegId);
    expect(first).toContain(invoice.seller.iban);
    for (const line of invoice.lines) expect(first).toContain(formatEuros(line.netCents, 'de'));
    const annex = pages.slice(1).join(' ');
    expect(annex).toContain('Anlage: Aufteilung auf die Standorte (47)');
    for (const share of invoice.allocation) expect(annex).toContain(formatEuros(share.grossCents, 'de'));
    expect(annex).toContain(`Anteile je Rechnungsposition (Pos. 1 bis ${Math.min(8, invoice.lines.length)}, netto)`);
    // Each site's share of a line: site-47's share of line 1, and every line's total.
    const site47 = invoice.allocation.find((share) => share.siteId === 'site-47')!;
    expect(annex).toContain(formatEuros(site47.lineNetCents[0]!, 'de'));
    expect(annex).toContain(`Pos. ${invoice.lines.length}`);
  });

  it('is English for a buyer outside Germany', async () => {
    const { invoice } = invoiceVariants().find((variant) => variant.name === 'English, buyer in Austria')!;
    const [first = ''] = await pdfPages(await renderInvoicePdf(invoice));
    expect(first).toContain(`Invoice ${invoice.invoiceNumber}`);
    expect(first).toContain('Issue date: 2026-04-01');
    expect(first).toContain('Minutes beyond the voice packages – German landlines');
    expect(first).toContain(`Total due: ${formatEuros(invoice.grossCents, 'en')}`);
  });

  it('names the corrected invoice and shows a credit note with positive amounts', async () => {
    const { invoice, preceding } = invoiceVariants().find((variant) => variant.name === 'credit note')!;
    const [first = ''] = await pdfPages(await renderInvoicePdf(invoice, preceding));
    expect(first).toContain(`Rechnungskorrektur ${invoice.invoiceNumber}`);
    expect(first).toContain('Datum: 01.05.2026');
    expect(first).toContain(`Korrigiert Rechnung ${MARCH_INVOICE.invoiceNumber} vom 01.04.2026`);
    expect(first).toContain('Leistungszeitraum: 01.03.2026 – 30.04.2026');
    expect(first).toContain(`Erstattungsbetrag: ${formatEuros(-invoice.grossCents, 'de')}`);
    expect(first).toContain(`Wir erstatten Ihnen ${formatEuros(-invoice.grossCents, 'de')} innerhalb von 14 Tagen.`);
    expect(first).toContain('Korrektur März 2026, Premium-Dienste (0900)');
    expect(first).not.toContain('Fällig am');
  });

  it('renders to a page a reader can see (pdftoppm)', async () => {
    const { png, dark, width, height } = await renderPage(await renderInvoicePdf(storyInvoice()), 1);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // A4 portrait at 60 dpi, with text on it but mostly paper.
    expect(width).toBeCloseTo(496, -1);
    expect(height).toBeCloseTo(702, -1);
    expect(dark).toBeGreaterThan(0.01);
    expect(dark).toBeLessThan(0.3);
  });

  it('renders one invoice identically every time', async () => {
    const invoice = storyInvoice();
    expect(Buffer.compare(await renderInvoicePdf(invoice), await renderInvoicePdf(invoice))).toBe(0);
  });
});
