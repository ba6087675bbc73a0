import { Writable } from 'node:stream';
import { KeyedCoalescer, createLogger } from '@switchboard/service-kit';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SELLER } from '../test/invoice-fixture.js';
import { STORY_PACKAGES, storyMonth, storyProfile } from '../test/story-month.js';
import { DocumentStore } from './documents.js';
import { InvoiceStore, invoiceIndexes } from './invoices.js';
import {
  CloseRefusedError,
  closeMonth,
  completeInterruptedIssues,
  type MonthCloseDependencies,
} from './month-close.js';
import { RatedLegStore, type StoredLeg } from './rated-legs.js';
import { rollupIndexes } from './rollups.js';
import { usageRowsOf } from './sums.js';
import { unassignedSitesAlert } from './unassigned.js';

let server: MongoServer;
let client: MongoClient;

beforeAll(async () => {
  server = await startMongo();
  client = await MongoClient.connect(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

/** Billing's stores on a fresh database, with a clock the test moves. */
async function billing(name: string, tenantId: string) {
  const db: Db = client.db(name);
  for (const { collection, key, options } of [...rollupIndexes, ...invoiceIndexes]) {
    await db.collection(collection).createIndex(key, options ?? {});
  }
  const clock = { now: new Date('2026-03-20T12:00:00Z') };
  const legs = new RatedLegStore(db, { clock: () => clock.now });
  const invoices = new InvoiceStore(db);
  await invoices.saveProfile(storyProfile(tenantId));
  const alerts: Array<{ tenantId: string; month: string; siteIds: string[] }> = [];
  const deps: MonthCloseDependencies = {
    legs,
    invoices,
    documents: new DocumentStore(db),
    seller: SELLER,
    settleMs: 5_000,
    voicePackages: async () => STORY_PACKAGES,
    announce: async () => undefined,
    issues: new KeyedCoalescer(),
    clock: () => clock.now,
    onUnassignedSites: (event) => alerts.push(event),
  };
  return { clock, legs, deps, alerts };
}

describe('month close from the roll-ups', () => {
  it('bills the versions current at its cutoff; what came after is corrected on the next invoice', async () => {
    const tenantId = 't-cutoff';
    const { clock, legs, deps } = await billing('cutoff', tenantId);
    const march = storyMonth(tenantId, '2026-03', 41, 300);
    await legs.record(march.slice(0, 250));
    // Stored two seconds before the close, within its settle time of five: next invoice.
    clock.now = new Date('2026-04-01T06:00:00Z');
    await legs.record(march.slice(250));
    clock.now = new Date('2026-04-01T06:00:02Z');
    const { invoice } = await closeMonth(deps, tenantId, '2026-03');
    expect(invoice.legCount).toBe(250);
    const usage = (rows: readonly StoredLeg[]) => usageRowsOf(rows).reduce((sum, row) => sum + row.amount, 0);
    const billedUsage = invoice.lines
      .filter((line) => line.category === 'overage')
      .reduce((sum, line) => sum + line.amount, 0);
    expect(billedUsage).toBe(usage(march.slice(0, 250)));

    clock.now = new Date('2026-05-01T06:00:00Z');
    const { invoice: april } = await closeMonth(deps, tenantId, '2026-04');
    const corrections = april.lines.filter((line) => line.category === 'correction');
    expect(corrections.reduce((sum, line) => sum + line.amount, 0)).toBe(usage(march.slice(250)));
    expect(corrections.every((line) => line.correctedMonth === '2026-03')).toBe(true);
  });

  it('waits for a batch received by its cutoff that is still reaching the roll-up', async () => {
    const tenantId = 't-inflight';
    const { clock, legs, deps } = await billing('inflight', tenantId);
    const march = storyMonth(tenantId, '2026-03', 47, 120);
    await legs.record(march.slice(0, 100));
    // The next batch's legs are stored; its roll-up update waits until the close is waiting too.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reachedRollup = () => {};
    const legsStored = new Promise<void>((resolve) => (reachedRollup = resolve));
    const apply = legs.rollups.apply.bind(legs.rollups);
    vi.spyOn(legs.rollups, 'apply').mockImplementationOnce(async (...args) => {
      reachedRollup();
      await gate;
      return apply(...args);
    });
    const awaitApplied = legs.awaitApplied.bind(legs);
    vi.spyOn(legs, 'awaitApplied').mockImplementationOnce((cutoff) => {
      release();
      return awaitApplied(cutoff);
    });
    const stored = legs.record(march.slice(100));
    // Its journal is written before the close looks for batches in flight, however busy the machine.
    await legsStored;
    clock.now = new Date('2026-04-01T06:00:00Z');
    const { invoice } = await closeMonth(deps, tenantId, '2026-03');
    await stored;
    expect(invoice.legCount).toBe(march.length);
  });

  it('finishes an invoice a failure left issuing at the next close or sweep, never announcing it half issued', async () => {
    const tenantId = 't-interrupted';
    const { clock, legs, deps } = await billing('interrupted', tenantId);
    await legs.record(storyMonth(tenantId, '2026-03', 44, 100));
    await legs.record(storyMonth(tenantId, '2026-04', 45, 100));
    const announced: string[] = [];
    const announcing = { ...deps, announce: async (invoice: { month: string }) => void announced.push(invoice.month) };
    const failingAfterPdf = {
      ...announcing,
      reached: (point: string) => {
        if (point === 'pdf-stored') throw new Error('stopped after the PDF');
      },
    };
    const documents = (month: string) =>
      client
        .db('interrupted')
        .collection('invoice_documents.files')
        .find({ 'metadata.month': month })
        .map((file) => file.filename as string)
        .toArray();

    clock.now = new Date('2026-04-01T06:00:00Z');
    await expect(closeMonth(failingAfterPdf, tenantId, '2026-03')).rejects.toThrow('stopped after the PDF');
    expect((await deps.invoices.invoice(tenantId, '2026-03'))?.status).toBe('issuing');
    expect(await documents('2026-03')).toEqual([`SB-202603-T-INTERRUPTED.pdf`]);
    expect(announced).toEqual([]);
    const again = await closeMonth(announcing, tenantId, '2026-03');
    expect(again).toMatchObject({ created: false, invoice: { status: 'issued' } });
    expect((await documents('2026-03')).sort()).toEqual(['SB-202603-T-INTERRUPTED.pdf', 'SB-202603-T-INTERRUPTED.xml']);
    expect(announced).toEqual(['2026-03']);

    clock.now = new Date('2026-05-01T06:00:00Z');
    await expect(closeMonth(failingAfterPdf, tenantId, '2026-04')).rejects.toThrow('stopped after the PDF');
    expect(await deps.invoices.issuing()).toEqual([{ tenantId, month: '2026-04' }]);
    expect(await completeInterruptedIssues(announcing)).toBe(1);
    expect(await deps.invoices.issuing()).toEqual([]);
    expect((await deps.invoices.invoice(tenantId, '2026-04'))?.status).toBe('issued');
    expect(await documents('2026-04')).toHaveLength(2);
    expect(announced).toEqual(['2026-03', '2026-04']);
    expect(await completeInterruptedIssues(announcing)).toBe(0);
  });

  it('bills usage on sites missing from the profile to the catch-all share, alerts, and the next month closes too', async () => {
    const tenantId = 't-stray';
    const { clock, legs, deps, alerts } = await billing('stray', tenantId);
    const march = storyMonth(tenantId, '2026-03', 43, 200).map((leg, index) =>
      index % 50 === 0 ? { ...leg, siteId: index % 100 === 0 ? 'unassigned' : 'site-99' } : leg,
    );
    await legs.record(march);
    clock.now = new Date('2026-04-01T06:00:00Z');
    const { invoice } = await closeMonth(deps, tenantId, '2026-03');
    const catchAll = invoice.allocation.at(-1);
    expect(catchAll).toMatchObject({ siteId: 'unassigned', siteName: 'Nicht zugeordnet / not assigned' });
    expect(invoice.allocation.reduce((sum, share) => sum + share.grossCents, 0)).toBe(invoice.grossCents);
    expect(alerts).toEqual([{ tenantId, month: '2026-03', siteIds: ['site-99', 'unassigned'] }]);

    // A late leg on a site that is still unknown, then April.
    clock.now = new Date('2026-04-10T06:00:00Z');
    await legs.record([{ ...march[1]!, callId: 'call-late', siteId: 'site-98', amount: 12_000, charges: [] }]);
    clock.now = new Date('2026-05-01T06:00:00Z');
    const { invoice: april } = await closeMonth(deps, tenantId, '2026-04');
    expect(april.allocation.at(-1)).toMatchObject({ siteId: 'unassigned', netCents: 120 });
    expect(alerts.at(-1)).toEqual({ tenantId, month: '2026-04', siteIds: ['site-98'] });
  });

  it('bills the voice packages of the tariff rating has in force for each month, a change from its first month on', async () => {
    const tenantId = 't-packages';
    const { clock, legs, deps } = await billing('packages', tenantId);
    // Rating's tariff: 3 packages, 5 from April (SetTariff valid_from 2026-04-01).
    const asked: string[] = [];
    deps.voicePackages = async (tenant, month) => {
      asked.push(`${tenant} ${month}`);
      return month < '2026-04' ? 3 : 5;
    };
    await legs.record(storyMonth(tenantId, '2026-03', 44, 50));
    clock.now = new Date('2026-04-01T06:00:00Z');
    const { invoice: march } = await closeMonth(deps, tenantId, '2026-03');
    // April has no legs at all: its packages are billed all the same.
    clock.now = new Date('2026-05-01T06:00:00Z');
    const { invoice: april } = await closeMonth(deps, tenantId, '2026-04');
    const price = storyProfile(tenantId).voicePackagePrice;
    expect(march.lines.find((line) => line.category === 'packages')).toMatchObject({
      quantityMilli: 3_000,
      unitPrice: price,
      amount: 3 * price,
    });
    expect(april.lines.find((line) => line.category === 'packages')).toMatchObject({
      quantityMilli: 5_000,
      amount: 5 * price,
    });
    expect(asked).toEqual([`${tenantId} 2026-03`, `${tenantId} 2026-04`]);
  });

  it('refuses the close while rating cannot tell the month’s voice packages, never billing 0', async () => {
    const tenantId = 't-no-rating';
    const { clock, deps } = await billing('no-rating', tenantId);
    deps.voicePackages = () => Promise.reject(new Error('no responders'));
    clock.now = new Date('2026-04-01T06:00:00Z');
    const refused = await closeMonth(deps, tenantId, '2026-03').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CloseRefusedError);
    expect((refused as Error).message).toBe(
      'rating did not tell the voice packages of 2026-03 (no responders); close again once rating answers',
    );
    expect(await deps.invoices.invoice(tenantId, '2026-03')).toBeUndefined();
    deps.voicePackages = async () => STORY_PACKAGES;
    const { created } = await closeMonth(deps, tenantId, '2026-03');
    expect(created).toBe(true);
  });

  it('warns naming tenant, month and sites', () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    unassignedSitesAlert(createLogger({ service: 'billing', level: 'info', destination }))({
      tenantId: 't-stray',
      month: '2026-03',
      siteIds: ['site-99'],
    });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', tenantId: 't-stray', month: '2026-03', siteIds: ['site-99'] }),
    ]);
  });
});
