import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createProgram } from '@switchboard/cli';
import { CDRS_STREAM } from '@switchboard/events';
import type { billingV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, call, metadata, publishLegs, startBilling, type BillingHarness } from '../test/billing-harness.js';
import { invoiceVariants } from '../test/invoice-fixture.js';
import { pdfPages } from '../test/pdf-text.js';
import { storyMonth, storyProfile } from '../test/story-month.js';
import { validateXRechnung } from '../test/validate-xrechnung.js';
import { CDR_CONSUMER } from './cdr-consumer.js';
import { formatDate } from './language.js';
import { berlinDate } from './months.js';
import { wireProfile } from './wire.js';
import { eventually } from '@switchboard/testkit';

type Command = ReturnType<typeof createProgram>;
/** Saxon compiles both rule sets for each check: seconds, more on a busy machine. */
const VALIDATION_TIMEOUT_MS = 180_000;
const TENANT = 't-docs';
let harness: BillingHarness;
let dir: string;
let march: billingV1.Invoice;
const legs = storyMonth(TENANT, '2026-03', 7, 60);

async function consumerIdle(): Promise<void> {
  await eventually(async () => {
    const info = await harness.nats.jsm.consumers.info(CDRS_STREAM.name, CDR_CONSUMER);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
  }, 'the cdr consumer to work through the stream');
}

async function close(month: string): Promise<billingV1.Invoice> {
  const md = await metadata(TENANT);
  const { invoice } = await call<billingV1.CloseMonthResponse>((done) =>
    harness.client.closeMonth({ tenantId: TENANT, month }, md, done),
  );
  if (!invoice) throw new Error(`no invoice for ${month}`);
  return invoice;
}

/** `sb …` in process against the harness; resolves with the error a user would see, if any. */
async function sb(args: string[]): Promise<Error | undefined> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    SB_BILLING_ADDR: harness.address,
    ...TOKENS.issuerEnv,
    SB_TOKEN: '',
  });
  const stderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const program = createProgram();
    // Usage errors throw instead of exiting the test process, on every subcommand.
    const throwOnExit = (command: Command): void => {
      command.exitOverride();
      command.commands.forEach(throwOnExit);
    };
    throwOnExit(program);
    await program.parseAsync(['node', 'sb', ...args]);
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    process.stderr.write = stderr;
    process.env = saved;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-invoice-documents-'));
  harness = await startBilling();
  const md = await metadata(TENANT);
  await call((done) =>
    harness.client.setBillingProfile({ tenantId: TENANT, profile: wireProfile(storyProfile(TENANT)) }, md, done),
  );
  await publishLegs(harness.nats, legs);
  await consumerIdle();
  march = await close('2026-03');
  // After March's close: a leg that arrives late and one rated again at another price.
  const late = { ...legs[0]!, callId: 'call-late', destinationClass: 'de-mobile', pool: '', amount: 1_800 };
  const original = legs.find((leg) => leg.destinationClass === 'premium' && leg.billedSeconds > 0)!;
  const rerated = {
    ...original,
    ratingVersion: 2,
    amount: Math.round((original.billedSeconds * 9_900) / 60) + original.connectionFee,
    charges: [
      {
        pricePerMinute: 9_900,
        seconds: original.billedSeconds,
        amount: Math.round((original.billedSeconds * 9_900) / 60),
      },
    ],
  };
  await publishLegs(harness.nats, [
    {
      ...late,
      charges: [{ pricePerMinute: 900, seconds: 120, amount: 1_800 }],
      connectionFee: 0,
      billedSeconds: 120,
      overageSeconds: 0,
    },
    rerated,
  ]);
  await consumerIdle();
  await close('2026-04');
}, 300_000);

afterAll(async () => {
  await harness?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('sb invoice get', () => {
  it(
    'downloads the XRechnung of a month with corrections, referencing the invoice they correct, and it passes the official rules',
    async () => {
      const out = path.join(dir, 'april.xml');
      expect(
        await sb(['invoice', 'get', '--tenant', TENANT, '--month', '2026-04', '--format', 'xrechnung', '--out', out]),
      ).toBeUndefined();
      const xml = await readFile(out, 'utf8');
      const issued = berlinDate(march.issuedAt!);
      expect(xml).toContain(
        `<cac:InvoiceDocumentReference>\n      <cbc:ID>${march.invoiceNumber}</cbc:ID>\n      <cbc:IssueDate>${issued}</cbc:IssueDate>`,
      );
      expect(xml).toContain('nachträglich eingegangene Verbindungen (1)');
      expect(xml).toContain('neu bewertete Verbindungen (1), Gutschrift der bisherigen Bewertung');
      expect((await validateXRechnung(xml)).rejections).toEqual([]);
    },
    VALIDATION_TIMEOUT_MS,
  );

  it('downloads the PDF, which names the corrected invoice', async () => {
    const out = path.join(dir, 'april.pdf');
    expect(
      await sb(['invoice', 'get', '--tenant', TENANT, '--month', '2026-04', '--format', 'pdf', '--out', out]),
    ).toBeUndefined();
    const [first = ''] = await pdfPages(await readFile(out));
    expect(first).toContain(
      `Korrigiert Rechnung ${march.invoiceNumber} vom ${formatDate(berlinDate(march.issuedAt!), 'de')}`,
    );
  });

  it(
    'renders an invoice stored before lines had unit prices (an English 380) that passes the rules',
    async () => {
      const { invoice } = invoiceVariants()[0]!;
      const { language: _language, documentType: _type, ...older } = invoice;
      await harness.db.collection('invoices').insertOne({
        ...older,
        tenantId: 't-legacy',
        invoiceNumber: 'SB-202603-T-LEGACY',
        month: '2026-03',
        lines: invoice.lines.map(({ unitPrice: _price, ...line }) => line),
      });
      const out = path.join(dir, 'legacy.xml');
      expect(
        await sb([
          'invoice',
          'get',
          '--tenant',
          't-legacy',
          '--month',
          '2026-03',
          '--format',
          'xrechnung',
          '--out',
          out,
        ]),
      ).toBeUndefined();
      const xml = await readFile(out, 'utf8');
      expect(xml).toContain('Payable within 14 days');
      expect((await validateXRechnung(xml)).rejections).toEqual([]);
    },
    VALIDATION_TIMEOUT_MS,
  );

  it('leaves an existing file alone and says so; refuses an unknown format and a month without invoice', async () => {
    const out = path.join(dir, 'taken.pdf');
    await writeFile(out, 'mine');
    const error = await sb([
      'invoice',
      'get',
      '--tenant',
      TENANT,
      '--month',
      '2026-03',
      '--format',
      'pdf',
      '--out',
      out,
    ]);
    expect(error?.message).toContain(`${out} exists already`);
    expect(await readFile(out, 'utf8')).toBe('mine');
    const format = await sb([
      'invoice',
      'get',
      '--tenant',
      TENANT,
      '--month',
      '2026-03',
      '--format',
      'docx',
      '--out',
      out,
    ]);
    expect(format?.message).toContain('Allowed choices are pdf, xrechnung');
    const missing = await sb([
      'invoice',
      'get',
      '--tenant',
      TENANT,
      '--month',
      '2026-09',
      '--format',
      'pdf',
      '--out',
      path.join(dir, 'none.pdf'),
    ]);
    expect(missing?.message).toContain('no invoice for t-docs 2026-09');
  });
});
