import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CDRS_STREAM, INVOICES_STREAM } from '@switchboard/events';
import { billingV1, ratingServiceV1 } from '@switchboard/proto';
import { RATING_RPC_DEFINITION, ratingRpcServeSubject } from '@switchboard/rpc-clients';
import { connectNats, createLogger, serveNatsRpc, type NatsHandle } from '@switchboard/service-kit';
import { spawnService, type ServiceProcess } from '@switchboard/stack';
import {
  TESTER,
  deferred,
  eventually,
  startMongo,
  startNats,
  type MongoServer,
  type NatsServer,
} from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, call, metadata, publishLegs } from '../test/billing-harness.js';
import { SELLER_ENV } from '../test/invoice-fixture.js';
import { STORY_PACKAGES, storyMonth, storyProfile } from '../test/story-month.js';
import { CDR_CONSUMER } from './cdr-consumer.js';
import { ISSUE_POINTS, type IssuePoint } from './month-close.js';
import { wireProfile } from './wire.js';

/**
 * Billing as a real process, SIGKILLed in the middle of a month close: while rating has not told
 * the month's voice packages (held by this test's rating double), and after each durable step of
 * issuing the invoice (`BILLING_CRASH_AT`: no point outside the process separates them). A
 * restarted process, or a close again, must leave exactly one invoice with both documents and
 * one event; two replicas closing at once must issue one.
 */

const MONTH = '2026-03';
const DB = 'billing_crash';

let natsServer: NatsServer;
let mongoServer: MongoServer;
let nats: NatsHandle;
let mongo: MongoClient;
let db: Db;
let logDir: string;
/** Set by a test to hold rating's answer; resolved by the double when a request arrives. */
let ratingHold: { asked: () => void; answer: Promise<void> } | undefined;
const running = new Set<ServiceProcess>();

async function startBilling(replica = 0, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const billing = await spawnService({
    name: 'billing',
    replica,
    env: {
      ...natsServer.env('billing'),
      MONGO_URL: mongoServer.url,
      MONGO_DB: DB,
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
      ...TOKENS.env,
      CLOSE_SETTLE_MS: '0',
      ...SELLER_ENV,
      ...env,
    },
    logDir,
    readyTimeoutMs: 120_000,
  });
  running.add(billing);
  void billing.exited.then(() => running.delete(billing));
  return billing;
}

function client(billing: ServiceProcess): billingV1.BillingServiceClient {
  return new billingV1.BillingServiceClient(`127.0.0.1:${billing.grpcPort}`, grpc.credentials.createInsecure());
}

async function closeMonth(billing: ServiceProcess, tenantId: string): Promise<billingV1.CloseMonthResponse> {
  const target = client(billing);
  try {
    const md = await metadata(tenantId);
    return await call<billingV1.CloseMonthResponse>((done) => target.closeMonth({ tenantId, month: MONTH }, md, done));
  } finally {
    target.close();
  }
}

async function document(billing: ServiceProcess, tenantId: string, kind: billingV1.DocumentKind): Promise<Buffer> {
  const target = client(billing);
  try {
    const md = await metadata(tenantId);
    const response = await call<billingV1.GetInvoiceDocumentResponse>((done) =>
      target.getInvoiceDocument({ tenantId, month: MONTH, kind }, md, done),
    );
    return Buffer.from(response.content);
  } finally {
    target.close();
  }
}

/** A tenant with a profile and a small month of legs, stored by `billing`. */
async function tenantWithLegs(billing: ServiceProcess, tenantId: string, seed: number): Promise<void> {
  const target = client(billing);
  const md = await metadata(tenantId, 'admin');
  await call((done) => target.setBillingProfile({ tenantId, profile: wireProfile(storyProfile(tenantId)) }, md, done));
  target.close();
  await publishLegs(nats, storyMonth(tenantId, MONTH, seed, 40, 1 / 8));
  await eventually(
    async () => {
      const info = await nats.jsm.consumers.info(CDRS_STREAM.name, CDR_CONSUMER);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    },
    'the legs to be stored',
    120_000,
  );
}

/** What is stored of the tenant's invoice: records, document files by name, events. */
async function stored(tenantId: string) {
  const invoices = await db.collection('invoices').find({ tenantId }).toArray();
  const files = await db.collection('invoice_documents.files').find({ 'metadata.tenantId': tenantId }).toArray();
  const events = await nats.jsm.streams.info(INVOICES_STREAM.name, { subjects_filter: `sb.${tenantId}.invoice.>` });
  return {
    invoices,
    statuses: invoices.map((invoice) => invoice['status'] as string),
    files: files.map((file) => file.filename as string).sort(),
    events: Object.values(events.state.subjects ?? {}).reduce((sum, count) => sum + count, 0),
  };
}

beforeAll(async () => {
  natsServer = await startNats();
  mongoServer = await startMongo();
  logDir = await mkdtemp(path.join(tmpdir(), 'sb-billing-crash-'));
  mongo = await MongoClient.connect(mongoServer.url);
  db = mongo.db(DB);
  nats = await connectNats({
    url: natsServer.url,
    credentials: natsServer.credentials(TESTER),
    name: 'billing-crash-test',
    logger: createLogger({ service: 'billing-crash-test', level: 'silent' }),
  });
  serveNatsRpc(nats, {
    definition: RATING_RPC_DEFINITION,
    handlers: {
      getUsage: async ({ tenantId, month }) => {
        const hold = ratingHold;
        if (hold) {
          hold.asked();
          await hold.answer;
        }
        return ratingServiceV1.GetUsageResponse.fromPartial({ tenantId, month, packages: STORY_PACKAGES });
      },
    },
    subjectFor: ratingRpcServeSubject,
    logger: createLogger({ service: 'rating-double', level: 'silent' }),
  });
});

afterEach(async () => {
  await Promise.all([...running].map((billing) => billing.stop()));
});

afterAll(async () => {
  await nats?.connection.close();
  await mongo?.close();
  await mongoServer?.stop();
  await natsServer?.stop();
  if (logDir) await rm(logDir, { recursive: true, force: true });
});

describe('billing crash safety', () => {
  it('a close killed while rating has not answered stores nothing; the next close issues the invoice', async () => {
    const tenantId = 't-asking';
    const first = await startBilling();
    await tenantWithLegs(first, tenantId, 11);
    const asked = deferred();
    const answer = deferred();
    ratingHold = { asked: () => asked.resolve(), answer: answer.promise };
    const closing = closeMonth(first, tenantId);
    closing.catch(() => undefined);
    await asked.promise;
    await first.stop('SIGKILL');
    ratingHold = undefined;
    answer.resolve();
    await expect(closing).rejects.toBeDefined();
    expect(await stored(tenantId)).toMatchObject({ invoices: [], files: [], events: 0 });

    const second = await startBilling();
    const { invoice, created } = await closeMonth(second, tenantId);
    expect(created).toBe(true);
    expect(await stored(tenantId)).toMatchObject({
      statuses: ['issued'],
      files: [`${invoice!.invoiceNumber}.pdf`, `${invoice!.invoiceNumber}.xml`],
      events: 1,
    });
  }, 240_000);

  it('a close killed after any step of issuing leaves the invoice issuing; the restart finishes each once', async () => {
    const tenants = ISSUE_POINTS.map((point, index) => ({ point, tenantId: `t-crash-${index + 1}` }));
    const expectedAfterCrash: Record<IssuePoint, { files: number; events: number }> = {
      'invoice-stored': { files: 0, events: 0 },
      'pdf-stored': { files: 1, events: 0 },
      'documents-stored': { files: 2, events: 0 },
      announced: { files: 2, events: 1 },
    };
    const loading = await startBilling();
    for (const [index, { tenantId }] of tenants.entries()) await tenantWithLegs(loading, tenantId, 20 + index);
    await loading.stop();
    for (const { point, tenantId } of tenants) {
      const crashing = await startBilling(0, { BILLING_CRASH_AT: point });
      await expect(closeMonth(crashing, tenantId)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await crashing.exited;
      const left = await stored(tenantId);
      expect(left.statuses).toEqual(['issuing']);
      expect(left.invoices[0]!['allocation']).toHaveLength(47);
      expect({ files: left.files.length, events: left.events }).toEqual(expectedAfterCrash[point]);
    }

    // The restarted process finishes every interrupted issue at start.
    const restarted = await startBilling();
    for (const { tenantId } of tenants) {
      await eventually(
        async () => ((await stored(tenantId)).statuses[0] === 'issued' ? true : undefined),
        `${tenantId}'s invoice to be issued`,
      );
      const { invoice, created } = await closeMonth(restarted, tenantId);
      expect(created).toBe(false);
      const number = invoice!.invoiceNumber;
      expect(number).toBe(`SB-202603-${tenantId.toUpperCase()}`);
      expect(await stored(tenantId)).toMatchObject({
        statuses: ['issued'],
        files: [`${number}.pdf`, `${number}.xml`],
        events: 1,
      });
      const pdf = await document(restarted, tenantId, billingV1.DocumentKind.DOCUMENT_KIND_PDF);
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      const xml = await document(restarted, tenantId, billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG);
      expect(xml.toString()).toContain(`<cbc:ID>${number}</cbc:ID>`);
    }
    // Six processes started one after another, each taking seconds (a minute on a loaded machine).
  }, 480_000);

  it('two replicas closing the same month at once issue one invoice, one event and the same documents', async () => {
    const tenantId = 't-twice';
    const [one, two] = await Promise.all([startBilling(0), startBilling(1)]);
    await tenantWithLegs(one!, tenantId, 31);
    // Rating answers once both have asked, so both closes compute the invoice and store it at once.
    let asks = 0;
    const bothAsked = deferred();
    ratingHold = { asked: () => (++asks === 2 ? bothAsked.resolve() : undefined), answer: bothAsked.promise };
    const results = await Promise.all([closeMonth(one!, tenantId), closeMonth(two!, tenantId)]);
    ratingHold = undefined;
    expect(results.map((result) => result.created).sort()).toEqual([false, true]);
    expect(results[0]!.invoice).toEqual(results[1]!.invoice);
    const after = await stored(tenantId);
    expect(after.statuses).toEqual(['issued']);
    expect(after.events).toBe(1);
    // Both may have rendered a document at once; the copies are the same bytes, and both serve them.
    for (const kind of [billingV1.DocumentKind.DOCUMENT_KIND_PDF, billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG]) {
      const [fromOne, fromTwo] = await Promise.all([document(one!, tenantId, kind), document(two!, tenantId, kind)]);
      expect(Buffer.compare(fromOne, fromTwo)).toBe(0);
    }
    const copies = await db.collection('invoice_documents.files').find({ 'metadata.tenantId': tenantId }).toArray();
    const lengths = new Map<string, Set<number>>();
    for (const file of copies) lengths.set(file.filename, (lengths.get(file.filename) ?? new Set()).add(file.length));
    expect([...lengths.values()].map((sizes) => sizes.size)).toEqual([1, 1]);
  }, 240_000);
});
