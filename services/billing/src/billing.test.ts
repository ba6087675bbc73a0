import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createProgram } from '@switchboard/cli';
import { CDRS_STREAM, DLQ_STREAM, INVOICES_STREAM, RatingEvents } from '@switchboard/events';
import { billingV1 } from '@switchboard/proto';
import { newEventMeta, publishEvent } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SELLER, usageRows } from '../test/invoice-fixture.js';
import { TOKENS, call, metadata, publishLegs, startBilling, type BillingHarness } from '../test/billing-harness.js';
import { pdfPages } from '../test/pdf-text.js';
import { STORY_PACKAGES, storyMonth, storyProfile } from '../test/story-month.js';
import { CDR_CONSUMER } from './cdr-consumer.js';
import { formatEuros } from './language.js';
import { buildInvoice } from './invoice.js';
import { formatCents, toCents } from './money.js';
import { wireInvoice, wireLeg, wireProfile } from './wire.js';
import { eventually } from '@switchboard/testkit';

const TENANT = 't-kropp';
const MARCH = '2026-03';
const APRIL = '2026-04';
let harness: BillingHarness;
const profile = storyProfile(TENANT);
// 500 calls with an eighth of the pools: the paths of the 3,000-call story month (bundles used up,
// overage, premium fees) at a sixth of the time; bench:invoice runs the volume.
const legs = storyMonth(TENANT, MARCH, 20260301, 500, 1 / 8);

async function consumerIdle(): Promise<void> {
  await eventually(
    async () => {
      const info = await harness.nats.jsm.consumers.info(CDRS_STREAM.name, CDR_CONSUMER);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    },
    'the cdr consumer to work through the stream',
    // ~1,200 deliveries into FerretDB: seconds alone, far longer beside the whole-stack tests.
    120_000,
  );
}

async function closeMonth(month: string) {
  const md = await metadata(TENANT);
  return call<billingV1.CloseMonthResponse>((done) => harness.client.closeMonth({ tenantId: TENANT, month }, md, done));
}

async function getInvoice(month: string) {
  const md = await metadata(TENANT);
  const { invoice } = await call<billingV1.GetInvoiceResponse>((done) =>
    harness.client.getInvoice({ tenantId: TENANT, month }, md, done),
  );
  return invoice;
}

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  const env = {
    ...process.env,
    SB_BILLING_ADDR: harness.address,
    ...TOKENS.issuerEnv,
    SB_TOKEN: '',
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await createProgram()
      .exitOverride()
      .parseAsync(['node', 'sb', ...args]);
  } finally {
    process.stdout.write = write;
    process.env = saved;
  }
  return out;
}

beforeAll(async () => {
  harness = await startBilling();
});

afterAll(async () => {
  await harness?.stop();
});

describe('billing profile', () => {
  it('names every wrong field', async () => {
    const md = await metadata(TENANT);
    const wire = wireProfile(profile);
    const broken = {
      ...wire,
      buyer: { ...wire.buyer!, leitwegId: 'nope', email: 'x' },
      sites: [...wire.sites, { ...wire.sites[0]! }],
      voicePackagePrice: '-5',
    };
    const error = await call((done) =>
      harness.client.setBillingProfile({ tenantId: TENANT, profile: broken }, md, done),
    ).catch((e: grpc.ServiceError) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const details = (error as grpc.ServiceError).details;
    expect(details).toContain('buyer.leitwegId');
    expect(details).toContain('buyer.email');
    expect(details).toMatch(/sites\.47\.id: is used twice/);
    expect(details).toContain('voicePackagePrice');
  });

  it('stores a valid profile and keeps tenants apart', async () => {
    const md = await metadata(TENANT);
    await call((done) =>
      harness.client.setBillingProfile({ tenantId: TENANT, profile: wireProfile(profile) }, md, done),
    );
    const { profile: stored } = await call<billingV1.GetBillingProfileResponse>((done) =>
      harness.client.getBillingProfile({ tenantId: TENANT }, md, done),
    );
    expect(stored?.sites).toHaveLength(47);
    const other = await metadata('t-other', 'admin');
    const denied = await call((done) => harness.client.getBillingProfile({ tenantId: TENANT }, other, done)).catch(
      (e: grpc.ServiceError) => e,
    );
    expect(denied).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });
});

describe('who may change billing', () => {
  it('refuses an agent the profile and the close before validation, and finance any change', async () => {
    for (const role of ['agent', 'finance'] as const) {
      const md = await metadata(TENANT, role);
      // Neither request is valid: the policy refuses first, so the answer is not INVALID_ARGUMENT.
      const profileError = await call((done) =>
        harness.client.setBillingProfile({ tenantId: TENANT, profile: undefined }, md, done),
      ).catch((e: grpc.ServiceError) => e);
      expect(profileError).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: `${role} may not call BillingService/SetBillingProfile (allowed: admin, operator)`,
      });
      const closeError = await call((done) =>
        harness.client.closeMonth({ tenantId: TENANT, month: 'not a month' }, md, done),
      ).catch((e: grpc.ServiceError) => e);
      expect(closeError).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: `${role} may not call BillingService/CloseMonth (allowed: admin, operator)`,
      });
    }
    const finance = await metadata(TENANT, 'finance');
    const { profile: read } = await call<billingV1.GetBillingProfileResponse>((done) =>
      harness.client.getBillingProfile({ tenantId: TENANT }, finance, done),
    );
    expect(read?.sites).toHaveLength(47);
  });
});

describe('month close of a story-shaped month, every event delivered twice', () => {
  let march: billingV1.Invoice;

  beforeAll(async () => {
    await publishLegs(harness.nats, legs);
    await publishLegs(harness.nats, legs, ':again');
    await consumerIdle();
  }, 150_000);

  it('stores each rated leg once', async () => {
    expect(await harness.db.collection('current_legs').countDocuments({ tenantId: TENANT })).toBe(legs.length);
    const minutes = legs.reduce((sum, leg) => sum + leg.billedSeconds, 0) / 60;
    // A sixth of the story month's ~10,000 minutes, some of them past the bundle.
    expect(minutes).toBeGreaterThan(8_000 / 6);
    expect(minutes).toBeLessThan(12_000 / 6);
    expect(legs.some((leg) => leg.overageSeconds > 0)).toBe(true);
  });

  it('refuses a month that has not ended', async () => {
    const error = await closeMonth('2099-01').catch((e: grpc.ServiceError) => e);
    expect(error).toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });

  it('closes the month into the invoice computed from the legs delivered once', async () => {
    const { invoice, created } = await closeMonth(MARCH);
    expect(created).toBe(true);
    march = invoice!;
    const expected = buildInvoice(profile, STORY_PACKAGES, MARCH, usageRows(legs), []);
    expect(march.lines).toEqual(wireInvoice({ ...expected, ...fixedFields() }).lines);
    expect(march.allocation).toEqual(wireInvoice({ ...expected, ...fixedFields() }).allocation);
    expect(Number(march.grossCents)).toBe(expected.grossCents);
    expect(Number(march.legCount)).toBe(legs.length);
    const sum = (values: string[]) => values.reduce((total, value) => total + Number(value), 0);
    expect(sum(march.allocation.map((share) => share.grossCents))).toBe(Number(march.grossCents));
    expect(sum(march.allocation.map((share) => share.vatCents))).toBe(Number(march.vatCents));
  });

  it('equals the sum of the exported rated legs plus fees', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sb-billing-'));
    try {
      const file = path.join(dir, 'cdrs.csv');
      await runCli(['cdr', 'export', '--tenant', TENANT, '--month', MARCH, '--csv', file]);
      const [header = '', ...rows] = (await readFile(file, 'utf8')).trim().split('\n');
      expect(header).toBe(
        'call_id,leg_id,started_at_utc,billing_month,destination,destination_class,duration_seconds,billed_seconds,pool,bundle_seconds,overage_seconds,connection_fee_eur,amount_eur,tariff_id,tariff_version,rating_version,site_id',
      );
      expect(rows).toHaveLength(legs.length);
      const byClass = new Map<string, number>();
      for (const row of rows) {
        const cells = row.split(',');
        // EUR with four decimals: back to 1/10,000 EUR.
        const amount = Number((cells[12] ?? '').replace('.', ''));
        byClass.set(cells[5] ?? '', (byClass.get(cells[5] ?? '') ?? 0) + amount);
      }
      const usageCents = [...byClass.values()].reduce((sum, amount) => sum + toCents(amount), 0);
      const fees =
        toCents(STORY_PACKAGES * profile.voicePackagePrice) +
        profile.recurringFees.reduce((sum, fee) => sum + toCents(fee.quantity * fee.unitPrice), 0) +
        profile.oneOffItems.reduce((sum, item) => sum + toCents(item.quantity * item.unitPrice), 0);
      expect(Number(march.netCents)).toBe(usageCents + fees);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('returns the same invoice when the month is closed again', async () => {
    const again = await closeMonth(MARCH);
    expect(again.created).toBe(false);
    expect(again.invoice).toEqual(march);
  });

  it('prints the invoice through the CLI, as text and JSON', async () => {
    const text = await runCli(['invoice', '--tenant', TENANT, '--month', MARCH]);
    expect(text).toContain(march.invoiceNumber);
    expect(text).toContain(`Total ${formatCents(Number(march.grossCents)).padStart(12)} EUR`);
    expect(text).toContain('site-47');
    const json = JSON.parse(await runCli(['invoice', '--tenant', TENANT, '--month', MARCH, '--json'])) as {
      grossCents: string;
      allocation: unknown[];
    };
    expect(json.grossCents).toBe(march.grossCents);
    expect(json.allocation).toHaveLength(47);
  });

  it('serves the PDF and the XRechnung stored in GridFS', async () => {
    const md = await metadata(TENANT);
    const pdf = await call<billingV1.GetInvoiceDocumentResponse>((done) =>
      harness.client.getInvoiceDocument(
        { tenantId: TENANT, month: MARCH, kind: billingV1.DocumentKind.DOCUMENT_KIND_PDF },
        md,
        done,
      ),
    );
    expect(pdf.contentType).toBe('application/pdf');
    const pages = await pdfPages(pdf.content);
    expect(pages.join(' ')).toContain(`Gesamtbetrag: ${formatEuros(Number(march.grossCents), 'de')}`);
    const xml = await call<billingV1.GetInvoiceDocumentResponse>((done) =>
      harness.client.getInvoiceDocument(
        { tenantId: TENANT, month: MARCH, kind: billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG },
        md,
        done,
      ),
    );
    const text = Buffer.from(xml.content).toString('utf8');
    expect(text).toContain(`<cbc:BuyerReference>${profile.buyer.leitwegId}</cbc:BuyerReference>`);
    expect(text).toContain(`<cbc:CompanyID>${SELLER.vatId}</cbc:CompanyID>`);
    expect(await harness.db.collection('invoice_documents.files').countDocuments({ 'metadata.tenantId': TENANT })).toBe(
      2,
    );
  });

  it('puts a late leg and a rerating after the close on the next invoice as corrections', async () => {
    const late = {
      ...legs[0]!,
      callId: 'call-late',
      legId: 'leg-0',
      amount: 4_321,
      destinationClass: 'de-mobile',
      charges: [],
    };
    const original = legs.find((leg) => leg.amount > 0)!;
    // Rated again at another price: its charges as rating would send them (derived from the amount).
    const rerated = { ...original, ratingVersion: 2, amount: original.amount + 10_000, charges: [] };
    await publishLegs(harness.nats, [late, rerated]);
    await consumerIdle();
    const { invoice: april } = await closeMonth(APRIL);
    const corrections = april!.lines.filter(
      (line) => line.category === billingV1.LineCategory.LINE_CATEGORY_CORRECTION,
    );
    expect(corrections.every((line) => line.correctedMonth === MARCH)).toBe(true);
    expect(corrections.reduce((sum, line) => sum + Number(line.amount), 0)).toBe(4_321 + 10_000);
    expect(await getInvoice(MARCH)).toEqual(march);
    // Corrections are billed once: a redelivered late leg puts nothing on the month after.
    await publishLegs(harness.nats, [late], ':redelivered');
    await consumerIdle();
    const { invoice: may } = await closeMonth('2026-05');
    expect(may!.lines.filter((line) => line.category === billingV1.LineCategory.LINE_CATEGORY_CORRECTION)).toEqual([]);
  });

  it('announces each invoice once on the INVOICES stream', async () => {
    const info = await harness.nats.jsm.streams.info(INVOICES_STREAM.name, {
      subjects_filter: `sb.${TENANT}.invoice.>`,
    });
    expect(info.state.messages).toBe(3);
  });

  it('parks a rated leg it cannot bill instead of dropping it', async () => {
    const broken = { ...wireLeg(legs[1]!), callId: 'call-broken', billingMonth: 'March' };
    await publishEvent(harness.nats, RatingEvents.cdrRated, { meta: newEventMeta(TENANT, 'rating'), leg: broken });
    await eventually(async () => {
      const info = await harness.nats.jsm.streams.info(DLQ_STREAM.name, {
        subjects_filter: `sb.${TENANT}.dlq.${CDR_CONSUMER}`,
      });
      return info.state.messages === 1 ? true : undefined;
    }, 'the broken leg to be parked');
    expect(await harness.db.collection('current_legs').countDocuments({ tenantId: TENANT })).toBe(legs.length + 1);
  });
});

function fixedFields() {
  return {
    tenantId: TENANT,
    month: MARCH,
    status: 'issued' as const,
    invoiceNumber: '',
    issuedAt: new Date(0),
    periodStart: '',
    periodEnd: '',
    dueDate: '',
    legCount: 0,
    cutoff: new Date(0),
    buyer: profile.buyer,
    seller: SELLER,
  };
}
