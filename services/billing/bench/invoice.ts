/**
 * `pnpm bench:invoice [--cdrs 1000000] [--batch 5000] [--out-dir DIR] [--json out.json]`: one
 * tenant month of N rated legs over 47 sites against a real MongoDB-wire server (FerretDB on
 * SQLite where no Docker engine is reachable). Loads the legs through the store path the CDR
 * consumer uses (`RatedLegStore.record`: legs, journal, roll-ups), then times month close +
 * allocation + PDF + XRechnung, which read the roll-ups. Prints and writes both rates, peak RSS
 * and the load average; `--out-dir` gets the invoice's `invoice.pdf` and `invoice.xml`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KeyedCoalescer } from '@switchboard/service-kit';
import { startMongo } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { DocumentStore } from '../src/documents.js';
import { InvoiceStore, invoiceIndexes } from '../src/invoices.js';
import { closeMonth } from '../src/month-close.js';
import { RatedLegStore, type StoredLeg } from '../src/rated-legs.js';
import { rollupIndexes } from '../src/rollups.js';
import { SELLER } from '../test/invoice-fixture.js';
import { STORY_PACKAGES, storyProfile } from '../test/story-month.js';

const { values } = parseArgs({
  options: {
    cdrs: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '5000' },
    'out-dir': { type: 'string' },
    json: { type: 'string' },
  },
});
const legCount = Number(values.cdrs);
const batchSize = Number(values.batch);
if (!Number.isSafeInteger(legCount) || legCount < 1) throw new Error('--cdrs must be a positive integer');
if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error('--batch must be a positive integer');

const TENANT = 't-bench';
const MONTH = '2026-03';
const CLASSES = [
  { name: 'inbound', pool: '', price: 0, fee: 0 },
  { name: 'internal', pool: '', price: 0, fee: 0 },
  { name: 'de-fixed', pool: 'de-fixed', price: 150, fee: 0 },
  { name: 'de-mobile', pool: 'de-mobile', price: 900, fee: 0 },
  { name: 'international-eu', pool: '', price: 1200, fee: 0 },
  { name: 'premium', pool: '', price: 19_900, fee: 500 },
] as const;

/** Leg i of the synthetic month: deterministic, spread over 47 sites and six classes. */
function leg(index: number): StoredLeg {
  const cls = CLASSES[index % CLASSES.length]!;
  const duration = 5 + ((index * 37) % 300);
  const billed = Math.max(60, duration);
  const overage = cls.pool && index % 3 === 0 ? billed : 0;
  const charged = cls.pool ? overage : billed;
  const chargeAmount = Math.round((charged * cls.price) / 60);
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
    durationSeconds: duration,
    billedSeconds: billed,
    pool: cls.pool,
    bundleSeconds: billed - overage,
    overageSeconds: overage,
    connectionFee: cls.fee,
    amount: chargeAmount + cls.fee,
    charges: chargeAmount === 0 ? [] : [{ pricePerMinute: cls.price, seconds: charged, amount: chargeAmount }],
    tariffId: 'bench',
    tariffVersion: 1,
    receivedAt: new Date(0),
  };
}

const server = await startMongo();
const client = await MongoClient.connect(server.url);
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
try {
  const db = client.db('bench');
  for (const { collection, key, options } of [...rollupIndexes, ...invoiceIndexes]) {
    await db.collection(collection).createIndex(key, options ?? {});
  }
  // Stored "now" and closed with a cutoff one second later: the clock moves on for the close.
  let now = Date.now();
  const legs = new RatedLegStore(db, { clock: () => new Date(now) });
  const invoices = new InvoiceStore(db);
  await invoices.saveProfile(storyProfile(TENANT));

  const loadStart = performance.now();
  // Two batches in flight, as the consumer has them: the store pipelines them in order.
  let previous: Promise<number> = Promise.resolve(0);
  for (let from = 0; from < legCount; from += batchSize) {
    const size = Math.min(batchSize, legCount - from);
    const batch = legs.record(Array.from({ length: size }, (_, offset) => leg(from + offset)));
    await previous;
    previous = batch;
    now = Date.now();
  }
  await previous;
  const loadSeconds = (performance.now() - loadStart) / 1000;
  process.stdout.write(`loaded ${legCount} rated legs in ${loadSeconds.toFixed(1)} s (${server.flavour})\n`);

  global.gc?.();
  const rssBeforeClose = process.memoryUsage().rss;
  let closePeakRss = rssBeforeClose;
  const closeSampler = setInterval(() => (closePeakRss = Math.max(closePeakRss, process.memoryUsage().rss)), 20);
  now = Date.now() + 1_000;
  const closeStart = performance.now();
  const documents = new DocumentStore(db);
  const { invoice } = await closeMonth(
    {
      legs,
      invoices,
      documents,
      seller: SELLER,
      settleMs: 0,
      voicePackages: async () => STORY_PACKAGES,
      announce: async () => undefined,
      issues: new KeyedCoalescer(),
      clock: () => new Date(now),
    },
    TENANT,
    MONTH,
  );
  const closeSeconds = (performance.now() - closeStart) / 1000;
  clearInterval(closeSampler);
  closePeakRss = Math.max(closePeakRss, process.memoryUsage().rss);

  if (values['out-dir']) {
    await mkdir(values['out-dir'], { recursive: true });
    const pdf = await documents.get(invoice, 'pdf');
    const xml = await documents.get(invoice, 'xrechnung');
    await writeFile(path.join(values['out-dir'], 'invoice.pdf'), pdf.content);
    await writeFile(path.join(values['out-dir'], 'invoice.xml'), xml.content);
  }

  const siteGross = invoice.allocation.reduce((sum, share) => sum + share.grossCents, 0);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const result = {
    database: server.flavour,
    legs: legCount,
    batch: batchSize,
    invoicedLegs: invoice.legCount,
    loadSeconds: Number(loadSeconds.toFixed(2)),
    loadLegsPerSecond: Math.round(legCount / loadSeconds),
    closeSeconds: Number(closeSeconds.toFixed(2)),
    closePeakRssMb: Math.round(closePeakRss / 2 ** 20),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    grossCents: invoice.grossCents,
    allocationExact: siteGross === invoice.grossCents,
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
    goals: { loadLegsPerSecond: 10_000, closeSeconds: 10, peakRssMb: 512 },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  clearInterval(sampler);
  await client.close();
  await server.stop();
}
