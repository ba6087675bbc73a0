/**
 * `pnpm bench:invoice [--cdrs 1000000] [--json out.json]`: month close + allocation + documents
 * for one tenant month of N rated legs over 47 sites, against a real MongoDB-wire server
 * (FerretDB on SQLite where no Docker engine is reachable). Prints and writes wall time and peak
 * RSS of the close; seeding the legs is timed separately.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startMongo } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { DocumentStore } from '../src/documents.js';
import { InvoiceStore, invoiceIndexes } from '../src/invoices.js';
import { closeMonth } from '../src/month-close.js';
import { RatedLegStore, ratedLegIndexes, type StoredLeg } from '../src/rated-legs.js';
import { SELLER } from '../test/invoice-fixture.js';
import { storyProfile } from '../test/story-month.js';

const { values } = parseArgs({
  options: { cdrs: { type: 'string', default: '1000000' }, json: { type: 'string' } },
});
const legCount = Number(values.cdrs);
if (!Number.isSafeInteger(legCount) || legCount < 1) throw new Error('--cdrs must be a positive integer');

const TENANT = 't-bench';
const MONTH = '2026-03';
const CLASSES = [
  { name: 'inbound', pool: '', price: 0 },
  { name: 'internal', pool: '', price: 0 },
  { name: 'de-fixed', pool: 'de-fixed', price: 150 },
  { name: 'de-mobile', pool: 'de-mobile', price: 900 },
  { name: 'international-eu', pool: '', price: 1200 },
] as const;

/** Leg i of the synthetic month: deterministic, spread over 47 sites and five classes. */
function leg(index: number, receivedAt: Date): StoredLeg {
  const cls = CLASSES[index % CLASSES.length]!;
  const billed = 60 + ((index * 37) % 300);
  const overage = cls.pool && index % 3 === 0 ? billed : 0;
  const charged = cls.pool ? overage : billed;
  return {
    tenantId: TENANT,
    callId: `call-${index}`,
    legId: 'leg-0',
    ratingVersion: 1,
    siteId: `site-${String((index % 47) + 1).padStart(2, '0')}`,
    startedAt: new Date(Date.UTC(2026, 2, 2 + (index % 25), 8, 0, index % 60)),
    billingMonth: MONTH,
    destination: '+494621234567',
    destinationClass: cls.name,
    durationSeconds: billed,
    billedSeconds: billed,
    pool: cls.pool,
    bundleSeconds: billed - overage,
    overageSeconds: overage,
    connectionFee: 0,
    amount: Math.round((charged * cls.price) / 60),
    tariffId: 'bench',
    tariffVersion: 1,
    receivedAt,
  };
}

const server = await startMongo();
const client = await MongoClient.connect(server.url);
try {
  const db = client.db('bench');
  for (const { collection, key, options } of [...ratedLegIndexes, ...invoiceIndexes]) {
    await db.collection(collection).createIndex(key, options ?? {});
  }
  const legs = new RatedLegStore(db);
  const invoices = new InvoiceStore(db);
  await invoices.saveProfile(storyProfile(TENANT));

  const seedStart = performance.now();
  const receivedAt = new Date(Date.now() - 60_000);
  const batch = 5_000;
  for (let from = 0; from < legCount; from += batch) {
    const size = Math.min(batch, legCount - from);
    await legs.record(Array.from({ length: size }, (_, offset) => leg(from + offset, receivedAt)));
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;
  process.stdout.write(`seeded ${legCount} rated legs in ${seedSeconds.toFixed(1)} s (${server.flavour})\n`);

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const closeStart = performance.now();
  const { invoice } = await closeMonth(
    {
      legs,
      invoices,
      documents: new DocumentStore(db),
      seller: SELLER,
      settleMs: 0,
      announce: async () => undefined,
    },
    TENANT,
    MONTH,
  );
  const closeSeconds = (performance.now() - closeStart) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  const siteGross = invoice.allocation.reduce((sum, share) => sum + share.grossCents, 0);
  const result = {
    database: server.flavour,
    legs: legCount,
    invoicedLegs: invoice.legCount,
    seedSeconds: Number(seedSeconds.toFixed(2)),
    closeSeconds: Number(closeSeconds.toFixed(2)),
    legsPerSecond: Math.round(legCount / closeSeconds),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    rssBeforeCloseMb: Math.round(rssBefore / 2 ** 20),
    grossCents: invoice.grossCents,
    allocationExact: siteGross === invoice.grossCents,
    goals: { closeSeconds: 10, peakRssMb: 512 },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await client.close();
  await server.stop();
}
