import * as grpc from '@grpc/grpc-js';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { FAX_INBOX_BUCKET, FaxEvents, eventSubject } from '@switchboard/events';
import { directoryServiceV1, faxServiceV1, faxV1 } from '@switchboard/proto';
import {
  createLogger,
  newEventMeta,
  publishEvent,
  type NatsHandle,
  type Principal,
  type RunningService,
} from '@switchboard/service-kit';
import type { ServiceProcess } from '@switchboard/stack';
import { MongoClient } from 'mongodb';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSmtpSink,
  startMongo,
  startNats,
  type MongoServer,
  type NatsServer,
  type SmtpSink,
  eventually,
  testTokens,
} from '@switchboard/testkit';
import {
  bearer,
  connectAdapter,
  metricValue,
  runDirectory,
  runFax,
  unaryCall,
  type Infrastructure,
  type Unary,
} from '../test/harness.js';
import { FaxSettingsStore } from './fax-settings.js';
import { FaxStore } from './fax-store.js';
import { createFaxMetrics, createVoicemailMetrics } from './metrics.js';
import { Retention } from './retention.js';
import { sampleFaxTiff } from './testing/sample-tiff.js';
import { VoicemailStore } from './voicemail-store.js';

const { FaxStatus, DocumentFormat } = faxServiceV1;
const { FaxResult } = faxV1;
const auth = testTokens();
const DB = 'fax_test';
const DIRECTORY_DB = 'fax_test_directory';
const DAY_MS = 24 * 60 * 60 * 1_000;

let nats: NatsServer;
let mongo: MongoServer;
let smtp: SmtpSink;
let service: RunningService;
let directory: ServiceProcess;
let directoryClient: directoryServiceV1.DirectoryServiceClient;
let adapter: NatsHandle;
let inbox: ObjectStore;
let client: faxServiceV1.FaxServiceClient;
let mongoClient: MongoClient;
let operatorToken: string;

function rpc<Req, Res>(method: Unary<Req, Res>, request: Req, token = operatorToken): Promise<Res> {
  return unaryCall(client, method, request, token);
}

const api = {
  getFax: (request: faxServiceV1.GetFaxRequest, token?: string) =>
    rpc(client.getFax as Unary<faxServiceV1.GetFaxRequest, faxServiceV1.GetFaxResponse>, request, token),
  listFaxes: (request: Partial<faxServiceV1.ListFaxesRequest> & { tenantId: string }, token?: string) =>
    rpc(
      client.listFaxes as Unary<faxServiceV1.ListFaxesRequest, faxServiceV1.ListFaxesResponse>,
      faxServiceV1.ListFaxesRequest.fromPartial(request),
      token,
    ),
  markFaxHandled: (request: faxServiceV1.MarkFaxHandledRequest, token?: string) =>
    rpc(
      client.markFaxHandled as Unary<faxServiceV1.MarkFaxHandledRequest, faxServiceV1.MarkFaxHandledResponse>,
      request,
      token,
    ),
  retryFaxDelivery: (request: faxServiceV1.RetryFaxDeliveryRequest, token?: string) =>
    rpc(
      client.retryFaxDelivery as Unary<faxServiceV1.RetryFaxDeliveryRequest, faxServiceV1.RetryFaxDeliveryResponse>,
      request,
      token,
    ),
  listFaxRoutes: (request: faxServiceV1.ListFaxRoutesRequest, token?: string) =>
    rpc(
      client.listFaxRoutes as Unary<faxServiceV1.ListFaxRoutesRequest, faxServiceV1.ListFaxRoutesResponse>,
      request,
      token,
    ),
  updateFaxSettings: (request: faxServiceV1.UpdateFaxSettingsRequest, token?: string) =>
    rpc(
      client.updateFaxSettings as Unary<faxServiceV1.UpdateFaxSettingsRequest, faxServiceV1.UpdateFaxSettingsResponse>,
      request,
      token,
    ),
  listRetentionLog: (request: faxServiceV1.ListRetentionLogRequest, token?: string) =>
    rpc(
      client.listRetentionLog as Unary<faxServiceV1.ListRetentionLogRequest, faxServiceV1.ListRetentionLogResponse>,
      request,
      token,
    ),
};

function download(
  tenantId: string,
  faxId: string,
  format = DocumentFormat.DOCUMENT_FORMAT_PDF,
  token = operatorToken,
): Promise<{ bytes: Buffer; fileName: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.downloadFax({ tenantId, faxId, format }, bearer(token));
    const chunks: Buffer[] = [];
    let fileName = '';
    let contentType = '';
    stream.on('data', (part: faxServiceV1.DownloadFaxResponse) => {
      if (part.fileName) ({ fileName, contentType } = part);
      chunks.push(Buffer.from(part.chunk));
    });
    stream.on('error', reject);
    stream.on('end', () => resolve({ bytes: Buffer.concat(chunks), fileName, contentType }));
  });
}

const token = (principal: Principal) => auth.token(principal);

function directoryCall<Req, Res>(method: unknown, request: Req): Promise<Res> {
  return unaryCall(directoryClient, method, request, operatorToken);
}

const infrastructure = (): Infrastructure => ({ nats, mongo, smtp, tokens: auth });

/** The directory service on this test's NATS and MongoDB; started again after a stop, with its data. */
async function startDirectory(): Promise<void> {
  directory = await runDirectory(infrastructure(), DIRECTORY_DB);
  directoryClient?.close();
  directoryClient = new directoryServiceV1.DirectoryServiceClient(
    `127.0.0.1:${directory.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
}

const faxNumber = (number: string, departmentId: string) => ({
  number,
  kind: 'fax',
  entryPoint: { kind: 'fax-department', target: departmentId },
});
const department = (departmentId: string, faxMailbox: string) => ({ departmentId, name: departmentId, faxMailbox });

async function importTenant(
  tenantId: string,
  numbers: ReturnType<typeof faxNumber>[],
  departments: ReturnType<typeof department>[],
) {
  const document = { tenant: { tenantId, name: tenantId, federalState: 'SH' }, numbers, departments };
  await directoryCall(directoryClient.importTenant, { tenantId, document: JSON.stringify(document) });
}

async function setFaxMailbox(tenantId: string, departmentId: string, faxMailbox: string): Promise<void> {
  const { department: current } = await directoryCall<
    directoryServiceV1.GetDepartmentRequest,
    directoryServiceV1.GetDepartmentResponse
  >(directoryClient.getDepartment, { tenantId, departmentId });
  await directoryCall(directoryClient.updateDepartment, { tenantId, department: { ...current!, faxMailbox } });
}

interface SentFax {
  faxId: string;
  tiff: Buffer | undefined;
}

let calls = 0;
/** What the ARI adapter does: the TIFF into the object store, then fax-received. */
async function receiveFax(options: {
  tenantId: string;
  dialedNumber: string;
  tiff?: Buffer;
  result?: faxV1.FaxResult;
  error?: string;
  pages?: number;
  documentUri?: string;
}): Promise<SentFax> {
  calls += 1;
  const callId = `call-${calls}`;
  const objectName = `${options.tenantId}/${callId}.tif`;
  if (options.tiff) await inbox.putBlob({ name: objectName }, options.tiff);
  const meta = newEventMeta(options.tenantId, 'ari-adapter-test');
  await publishEvent(adapter, FaxEvents.received, {
    meta,
    callId,
    adapterId: 'adapter-1',
    dialedNumber: options.dialedNumber,
    callerNumber: '+4940123456',
    remoteStationId: 'AMT KROPP 0412',
    pages: options.pages ?? 1,
    result: options.result ?? FaxResult.FAX_RESULT_SUCCESS,
    error: options.error ?? '',
    startedAt: new Date(Date.now() - 60_000),
    endedAt: new Date(),
    documentUri: options.documentUri ?? (options.tiff ? `nats-object://${FAX_INBOX_BUCKET}/${objectName}` : ''),
    documentBytes: String(options.tiff?.length ?? 0),
  });
  return { faxId: meta.eventId, tiff: options.tiff };
}

async function settled(tenantId: string, faxId: string, status: faxServiceV1.FaxStatus): Promise<faxServiceV1.Fax> {
  return eventually(
    async () => {
      const fax = await api.getFax({ tenantId, faxId }).then(
        (response) => response.fax,
        () => undefined,
      );
      return fax?.status === status ? fax : undefined;
    },
    `fax ${faxId} to reach ${faxServiceV1.faxStatusToJSON(status)}`,
  );
}

function mailsFor(faxId: string) {
  return smtp.messages.filter((mail) => mail.headers.get('x-switchboard-fax-id') === faxId);
}

const metric = (name: string, labels?: Record<string, string>) => metricValue(service, name, labels);

async function pdfPages(pdf: Buffer) {
  return (await PDFDocument.load(pdf)).getPages().map((page) => page.getSize());
}

beforeAll(async () => {
  [nats, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  await startDirectory();
  service = await runFax(infrastructure(), DB);
  adapter = await connectAdapter(nats);
  inbox = await new Objm(adapter.connection).create(FAX_INBOX_BUCKET);
  client = new faxServiceV1.FaxServiceClient(`127.0.0.1:${service.grpcPort}`, grpc.credentials.createInsecure());
  mongoClient = await MongoClient.connect(mongo.url);
  operatorToken = await token({ subject: 'ops', tenantId: 'provider', role: 'operator' });
  const admin = await token({ subject: 'anna', tenantId: 't-kropp', role: 'admin' });
  await importTenant(
    't-kropp',
    [
      faxNumber('+4946248009', 'ordnungsamt'),
      faxNumber('+4946248007', 'bauamt'),
      faxNumber('+4946248005', 'standesamt'),
    ],
    [
      department('ordnungsamt', 'ordnungsamt@amt-kropp.example'),
      department('bauamt', ''),
      department('standesamt', 'standesamt@amt-kropp.example'),
    ],
  );
  // Known to the directory, but no fax for it until the directory is down.
  await importTenant(
    't-later',
    [faxNumber('+4946247100', 'zentrale')],
    [department('zentrale', 'zentrale@later.example')],
  );
  await api.updateFaxSettings(
    { tenantId: 't-kropp', settings: { fallbackMailbox: 'poststelle@amt-kropp.example', retentionDays: 0 } },
    admin,
  );
});

afterAll(async () => {
  client?.close();
  await mongoClient?.close();
  await adapter?.connection.close();
  await service?.shutdown('test over');
  directoryClient?.close();
  await directory?.stop();
  await Promise.all([smtp?.stop(), nats?.stop(), mongo?.stop()]);
});

describe('fax service', () => {
  it('delivers G3 fine and G4 normal faxes as PDFs identical to the stored ones', async () => {
    const g3 = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      tiff: await sampleFaxTiff({ pages: 3, compression: 'g3-2d', resolution: 'fine', seed: 7 }),
      pages: 3,
    });
    const g4 = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      tiff: await sampleFaxTiff({ pages: 2, compression: 'g4', resolution: 'normal', seed: 8 }),
      pages: 2,
    });
    for (const [sent, pages] of [
      [g3, 3],
      [g4, 2],
    ] as const) {
      const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_DELIVERED);
      expect(fax).toMatchObject({
        pages,
        mailbox: 'ordnungsamt@amt-kropp.example',
        departmentId: 'ordnungsamt',
        viaFallback: false,
        deliveryAttempts: 1,
        hasPdf: true,
        hasOriginal: true,
      });
      const [mail, ...more] = mailsFor(sent.faxId);
      expect(more).toHaveLength(0);
      expect(mail?.to).toMatchObject({ text: 'ordnungsamt@amt-kropp.example' });
      expect(mail?.subject).toBe(`Fax from +4940123456 "AMT KROPP 0412" to +4946248009 (${pages} pages)`);
      expect(mail?.attachments).toHaveLength(1);
      const attachment = mail!.attachments[0]!;
      expect(attachment.contentType).toBe('application/pdf');

      const stored = await download('t-kropp', sent.faxId);
      expect(stored.contentType).toBe('application/pdf');
      expect(attachment.filename).toBe(stored.fileName);
      expect(Buffer.compare(attachment.content, stored.bytes)).toBe(0);
      const sizes = await pdfPages(stored.bytes);
      expect(sizes).toHaveLength(pages);
      for (const size of sizes) {
        expect(size.width).toBeCloseTo(609.9, 0);
        expect(size.height).toBeCloseTo(842, -1);
      }
      const original = await download('t-kropp', sent.faxId, DocumentFormat.DOCUMENT_FORMAT_ORIGINAL_TIFF);
      expect(Buffer.compare(original.bytes, sent.tiff!)).toBe(0);
      expect(original.contentType).toBe('image/tiff');
    }
    // The adapter's copy is gone once ours is in GridFS: retention governs the only copy.
    expect(await inbox.getBlob(`t-kropp/call-1.tif`)).toBeNull();
    const files = mongoClient.db(DB).collection('faxdocs.files');
    expect(await files.findOne({ _id: `${g3.faxId}:pdf` as never })).toMatchObject({
      metadata: {
        tenantId: 't-kropp',
        faxId: g3.faxId,
        kind: 'pdf',
        callerNumber: '+4940123456',
        remoteStationId: 'AMT KROPP 0412',
        pages: 3,
        status: 'FAX_STATUS_DELIVERED',
      },
    });
  });

  it('sends a fax to a number the directory does not know to the fallback mailbox and counts it', async () => {
    const before = await metric('fax_unrouted_total');
    const sent = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248001',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g3-1d', resolution: 'normal' }),
    });
    const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax).toMatchObject({ mailbox: 'poststelle@amt-kropp.example', viaFallback: true, departmentId: '' });
    expect(mailsFor(sent.faxId)).toHaveLength(1);
    expect(await metric('fax_unrouted_total')).toBe(before + 1);
  });

  it('sends a fax for a department without a fax mailbox to the fallback mailbox, with the department', async () => {
    const before = await metric('fax_unrouted_total');
    const sent = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+49 4624 800 7',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
    });
    const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax).toMatchObject({ mailbox: 'poststelle@amt-kropp.example', viaFallback: true, departmentId: 'bauamt' });
    expect(mailsFor(sent.faxId)).toHaveLength(1);
    expect(await metric('fax_unrouted_total')).toBe(before + 1);
  });

  it("follows a change of a department's fax mailbox in the directory with the next fax", async () => {
    const first = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248005',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
    });
    expect(await settled('t-kropp', first.faxId, FaxStatus.FAX_STATUS_DELIVERED)).toMatchObject({
      mailbox: 'standesamt@amt-kropp.example',
      departmentId: 'standesamt',
    });

    await setFaxMailbox('t-kropp', 'standesamt', 'urkunden@amt-kropp.example');
    // The fax service reloads on the directory's change event; its route list shows when it has.
    const routes = await eventually(async () => {
      const { routes: current } = await api.listFaxRoutes({ tenantId: 't-kropp' });
      return current.some((route) => route.mailbox === 'urkunden@amt-kropp.example') ? current : undefined;
    }, 'the fax service to see the new mailbox');
    expect(routes).toEqual([
      {
        tenantId: 't-kropp',
        faxNumber: '+4946248005',
        departmentId: 'standesamt',
        mailbox: 'urkunden@amt-kropp.example',
      },
      { tenantId: 't-kropp', faxNumber: '+4946248007', departmentId: 'bauamt', mailbox: '' },
      {
        tenantId: 't-kropp',
        faxNumber: '+4946248009',
        departmentId: 'ordnungsamt',
        mailbox: 'ordnungsamt@amt-kropp.example',
      },
    ]);

    const second = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248005',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
    });
    expect(await settled('t-kropp', second.faxId, FaxStatus.FAX_STATUS_DELIVERED)).toMatchObject({
      mailbox: 'urkunden@amt-kropp.example',
      viaFallback: false,
    });
    expect(mailsFor(second.faxId)[0]?.to).toMatchObject({ text: 'urkunden@amt-kropp.example' });
  });

  it('keeps a corrupt TIFF with the reason, counts the failure and sends no e-mail', async () => {
    const before = await metric('fax_failures_total', { reason: 'conversion' });
    const good = await sampleFaxTiff({ pages: 3, compression: 'g4', resolution: 'fine' });
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const sent = await receiveFax({ tenantId: 't-kropp', dialedNumber: '+4946248009', tiff: truncated, pages: 3 });

    const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_NOT_CONVERTED);
    expect(fax.reasons.join('\n')).toMatch(/not converted: corrupt or truncated TIFF/);
    expect(fax).toMatchObject({ hasPdf: false, hasOriginal: true, deliveryAttempts: 0, mailbox: '' });
    const original = await download('t-kropp', sent.faxId, DocumentFormat.DOCUMENT_FORMAT_ORIGINAL_TIFF);
    expect(Buffer.compare(original.bytes, truncated)).toBe(0);
    await expect(download('t-kropp', sent.faxId)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(await metric('fax_failures_total', { reason: 'conversion' })).toBe(before + 1);
    // The status is written after the handler's last step, so no mail can still be on its way.
    expect(mailsFor(sent.faxId)).toHaveLength(0);
  });

  it('delivers the pages of a broken-off reception marked INCOMPLETE, and records one with no pages', async () => {
    const beforeReception = await metric('fax_failures_total', { reason: 'reception' });
    const partial = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g3-2d', resolution: 'fine' }),
      result: FaxResult.FAX_RESULT_FAILED,
      error: 'FAX_ERR_PARTIAL_TRANSFER',
    });
    const nothing = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      result: FaxResult.FAX_RESULT_FAILED,
      error: 'NO_FAX_DETECTED',
      pages: 0,
    });
    const delivered = await settled('t-kropp', partial.faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(delivered.reasons).toContain('reception failed: FAX_ERR_PARTIAL_TRANSFER');
    const [mail] = mailsFor(partial.faxId);
    expect(mail?.subject).toMatch(/^INCOMPLETE fax from/);
    expect(mail?.text).toContain('FAX_ERR_PARTIAL_TRANSFER');
    expect(mail?.attachments).toHaveLength(1);

    const empty = await settled('t-kropp', nothing.faxId, FaxStatus.FAX_STATUS_NO_DOCUMENT);
    expect(empty.reasons).toEqual(['reception failed: NO_FAX_DETECTED', 'no document was received']);
    expect(mailsFor(nothing.faxId)).toHaveLength(0);
    expect(await metric('fax_failures_total', { reason: 'reception' })).toBe(beforeReception + 2);
  });

  it('records a fax whose document is not in the object store, and sends nothing', async () => {
    const sent = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      documentUri: `nats-object://${FAX_INBOX_BUCKET}/t-kropp/never-stored.tif`,
    });
    const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_NO_DOCUMENT);
    expect(fax.reasons).toEqual([
      `document nats-object://${FAX_INBOX_BUCKET}/t-kropp/never-stored.tif is not in the object store`,
    ]);
    expect(mailsFor(sent.faxId)).toHaveLength(0);
  });

  it('retries while the SMTP server is down and delivers exactly one e-mail once it is back', async () => {
    const beforeFailed = await metric('fax_delivery_attempts_total', { outcome: 'failed' });
    await smtp.stop();
    const sent = await receiveFax({
      tenantId: 't-kropp',
      dialedNumber: '+4946248009',
      tiff: await sampleFaxTiff({ pages: 2, compression: 'g4', resolution: 'fine' }),
      pages: 2,
    });
    const waiting = await eventually(async () => {
      const fax = (await api.getFax({ tenantId: 't-kropp', faxId: sent.faxId }).catch(() => undefined))?.fax;
      return fax && fax.deliveryAttempts >= 2 ? fax : undefined;
    }, 'two failed delivery attempts');
    expect(waiting.status).toBe(FaxStatus.FAX_STATUS_DELIVERY_PENDING);
    expect(waiting.reasons.at(-1)).toMatch(/^delivery to ordnungsamt@amt-kropp\.example failed: /);
    expect(await metric('fax_delivery_attempts_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(beforeFailed + 2);

    await smtp.start();
    const fax = await settled('t-kropp', sent.faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax.deliveryAttempts).toBeGreaterThanOrEqual(3);
    expect(mailsFor(sent.faxId)).toHaveLength(1);

    // The same event delivered again (a new Nats-Msg-Id, so JetStream stores it twice) changes nothing.
    const original = await adapter.jsm.streams.getMessage('FAX', { last_by_subj: 'sb.t-kropp.fax.received' });
    await adapter.js.publish(eventSubject('t-kropp', 'fax', 'received'), original!.data, { msgID: 'replayed-1' });
    await eventually(async () => {
      const info = await adapter.jsm.consumers.info('FAX', 'fax-received');
      return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
    }, 'the replayed event to be handled');
    expect(mailsFor(sent.faxId)).toHaveLength(1);
  });

  it('keeps a fax with no mailbox in the inbox with the reason, and delivers it on retry', async () => {
    const admin = await token({ subject: 'bert', tenantId: 't-nomail', role: 'admin' });
    const sent = await receiveFax({
      tenantId: 't-nomail',
      dialedNumber: '+4930123456',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
    });
    const kept = await settled('t-nomail', sent.faxId, FaxStatus.FAX_STATUS_NO_MAILBOX);
    expect(kept.reasons).toEqual([
      '+4930123456 is not a fax number in the directory and there is no fallback mailbox: kept in the inbox',
    ]);
    expect(mailsFor(sent.faxId)).toHaveLength(0);

    await api.updateFaxSettings(
      { tenantId: 't-nomail', settings: { fallbackMailbox: 'zentrale@nomail.example', retentionDays: 30 } },
      admin,
    );
    const retried = await api.retryFaxDelivery({ tenantId: 't-nomail', faxId: sent.faxId }, admin);
    expect(retried.fax).toMatchObject({ status: FaxStatus.FAX_STATUS_DELIVERED, mailbox: 'zentrale@nomail.example' });
    expect(mailsFor(sent.faxId)).toHaveLength(1);
    await expect(api.retryFaxDelivery({ tenantId: 't-nomail', faxId: sent.faxId }, admin)).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
  });

  it('lists the inbox newest first and marks a fax handled', async () => {
    // The inbox is the tenant administrator's (see policy.ts).
    const clara = await token({ subject: 'clara', tenantId: 't-kropp', role: 'admin' });
    const all = await api.listFaxes({ tenantId: 't-kropp' }, clara);
    expect(all.faxes.length).toBeGreaterThanOrEqual(6);
    const times = all.faxes.map((fax) => fax.receivedAt!.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const paged = await api.listFaxes({ tenantId: 't-kropp', pageSize: 2 }, clara);
    expect(paged.faxes.map((fax) => fax.faxId)).toEqual(all.faxes.slice(0, 2).map((fax) => fax.faxId));
    expect(paged.nextPageToken).toBe('2');

    const target = all.faxes[0]!;
    const handled = await api.markFaxHandled({ tenantId: 't-kropp', faxId: target.faxId }, clara);
    expect(handled.fax).toMatchObject({ handledBy: 'clara' });
    const open = await api.listFaxes({ tenantId: 't-kropp', unhandledOnly: true }, clara);
    expect(open.faxes.map((fax) => fax.faxId)).not.toContain(target.faxId);
    expect(open.faxes).toHaveLength(all.faxes.length - 1);
  });

  it("gives a department lead their departments' faxes only: listed, read, downloaded, marked; others refused", async () => {
    const all = (await api.listFaxes({ tenantId: 't-kropp' })).faxes;
    const ofDepartment = (departmentId: string) => all.filter((fax) => fax.departmentId === departmentId);
    // Faxes of three kinds are in the inbox by now: routed to ordnungsamt and standesamt, unrouted.
    expect(ofDepartment('ordnungsamt').length).toBeGreaterThan(0);
    expect(ofDepartment('standesamt').length).toBeGreaterThan(0);
    expect(ofDepartment('').length).toBeGreaterThan(0);
    const lead = await token({
      subject: 'lena',
      tenantId: 't-kropp',
      role: 'supervisor',
      departments: ['ordnungsamt'],
    });
    const ids = (faxes: faxServiceV1.Fax[]) => faxes.map((fax) => fax.faxId);

    expect(ids((await api.listFaxes({ tenantId: 't-kropp' }, lead)).faxes)).toEqual(ids(ofDepartment('ordnungsamt')));
    expect(ids((await api.listFaxes({ tenantId: 't-kropp', departmentId: 'ordnungsamt' }, lead)).faxes)).toEqual(
      ids(ofDepartment('ordnungsamt')),
    );
    // The filter works for the administrators too.
    expect(ids((await api.listFaxes({ tenantId: 't-kropp', departmentId: 'standesamt' })).faxes)).toEqual(
      ids(ofDepartment('standesamt')),
    );
    const own = ofDepartment('ordnungsamt').find((fax) => fax.hasPdf)!;
    expect((await api.getFax({ tenantId: 't-kropp', faxId: own.faxId }, lead)).fax?.faxId).toBe(own.faxId);
    expect((await download('t-kropp', own.faxId, DocumentFormat.DOCUMENT_FORMAT_PDF, lead)).contentType).toBe(
      'application/pdf',
    );
    expect((await api.markFaxHandled({ tenantId: 't-kropp', faxId: own.faxId }, lead)).fax?.handledBy).toBe('lena');

    const denied = { code: grpc.status.PERMISSION_DENIED };
    await expect(api.listFaxes({ tenantId: 't-kropp', departmentId: 'standesamt' }, lead)).rejects.toMatchObject(
      denied,
    );
    const open = (faxes: faxServiceV1.Fax[]) => faxes.find((fax) => !fax.handledAt)!;
    for (const other of [open(ofDepartment('standesamt')), open(ofDepartment(''))]) {
      const request = { tenantId: 't-kropp', faxId: other.faxId };
      await expect(api.getFax(request, lead)).rejects.toMatchObject(denied);
      await expect(download('t-kropp', other.faxId, DocumentFormat.DOCUMENT_FORMAT_PDF, lead)).rejects.toMatchObject(
        denied,
      );
      await expect(api.markFaxHandled(request, lead)).rejects.toMatchObject(denied);
      expect((await api.getFax(request)).fax?.handledAt).toBeUndefined();
    }
    // An id the tenant does not have reads the same as another department's.
    await expect(api.getFax({ tenantId: 't-kropp', faxId: 'no-such-fax' }, lead)).rejects.toMatchObject(denied);
    await expect(api.retryFaxDelivery({ tenantId: 't-kropp', faxId: own.faxId }, lead)).rejects.toMatchObject(denied);
    await expect(api.listFaxRoutes({ tenantId: 't-kropp' }, lead)).rejects.toMatchObject(denied);
  });

  it("keeps tenants apart: another tenant's token gets PERMISSION_DENIED, another tenant's fax id NOT_FOUND", async () => {
    const [kroppFax] = (await api.listFaxes({ tenantId: 't-kropp', pageSize: 1 })).faxes;
    const otherAdmin = await token({ subject: 'eve', tenantId: 't-other', role: 'admin' });
    const denied = { code: grpc.status.PERMISSION_DENIED };
    await expect(api.listFaxes({ tenantId: 't-kropp' }, otherAdmin)).rejects.toMatchObject(denied);
    await expect(api.getFax({ tenantId: 't-kropp', faxId: kroppFax!.faxId }, otherAdmin)).rejects.toMatchObject(denied);
    await expect(
      download('t-kropp', kroppFax!.faxId, DocumentFormat.DOCUMENT_FORMAT_PDF, otherAdmin),
    ).rejects.toMatchObject(denied);
    await expect(api.markFaxHandled({ tenantId: 't-kropp', faxId: kroppFax!.faxId }, otherAdmin)).rejects.toMatchObject(
      denied,
    );

    const notFound = { code: grpc.status.NOT_FOUND };
    await expect(api.getFax({ tenantId: 't-other', faxId: kroppFax!.faxId }, otherAdmin)).rejects.toMatchObject(
      notFound,
    );
    await expect(
      download('t-other', kroppFax!.faxId, DocumentFormat.DOCUMENT_FORMAT_PDF, otherAdmin),
    ).rejects.toMatchObject(notFound);
    await expect(api.markFaxHandled({ tenantId: 't-other', faxId: kroppFax!.faxId }, otherAdmin)).rejects.toMatchObject(
      notFound,
    );
    expect((await api.listFaxes({ tenantId: 't-other' }, otherAdmin)).faxes).toEqual([]);

    await expect(api.listFaxRoutes({ tenantId: 't-kropp' }, otherAdmin)).rejects.toMatchObject(denied);
    const agent = await token({ subject: 'clara', tenantId: 't-kropp', role: 'agent' });
    await expect(
      api.updateFaxSettings(
        { tenantId: 't-kropp', settings: { fallbackMailbox: 'clara@amt-kropp.example', retentionDays: 0 } },
        agent,
      ),
    ).rejects.toMatchObject(denied);
  });

  it('refuses settings with a fallback mailbox that is not an address or a negative retention', async () => {
    const invalid = { code: grpc.status.INVALID_ARGUMENT };
    const settings = { fallbackMailbox: 'poststelle@amt-kropp.example', retentionDays: 0 };
    await expect(
      api.updateFaxSettings({ tenantId: 't-kropp', settings: { ...settings, fallbackMailbox: 'not a mailbox' } }),
    ).rejects.toMatchObject(invalid);
    await expect(
      api.updateFaxSettings({ tenantId: 't-kropp', settings: { ...settings, retentionDays: -1 } }),
    ).rejects.toMatchObject(invalid);
  });

  it('deletes faxes past their tenant retention and logs what it deleted', async () => {
    const db = mongoClient.db(DB);
    const logger = createLogger({ service: 'retention-test', level: 'silent' });
    const store = new FaxStore(db);
    const retention = new Retention(db, {
      faxes: store,
      voicemails: new VoicemailStore(db),
      settings: new FaxSettingsStore(db, 90),
      faxMetrics: createFaxMetrics(),
      voicemailMetrics: createVoicemailMetrics(),
      logger,
    });
    const kept = (await api.listFaxes({ tenantId: 't-kropp' })).faxes.length;
    const [expiring] = (await api.listFaxes({ tenantId: 't-nomail' })).faxes;

    // t-nomail keeps 30 days, t-kropp the default 90: 31 days on, only t-nomail's fax goes.
    const deleted = await retention.sweep(new Date(Date.now() + 31 * DAY_MS));
    expect(deleted).toBe(1);
    await expect(api.getFax({ tenantId: 't-nomail', faxId: expiring!.faxId })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    expect(await db.collection('faxdocs.files').countDocuments({ 'metadata.faxId': expiring!.faxId })).toBe(0);
    expect(await db.collection('faxdocs.chunks').countDocuments({ files_id: `${expiring!.faxId}:pdf` })).toBe(0);
    expect((await api.listFaxes({ tenantId: 't-kropp' })).faxes).toHaveLength(kept);

    const log = await api.listRetentionLog({ tenantId: 't-nomail', pageSize: 0 });
    expect(log.entries).toEqual([
      expect.objectContaining({
        faxId: expiring!.faxId,
        dialedNumber: '+4930123456',
        status: FaxStatus.FAX_STATUS_DELIVERED,
        retentionDays: 30,
      }),
    ]);
    expect(await retention.sweep(new Date(Date.now() + 31 * DAY_MS))).toBe(0);
  });

  it('retries a fax while the directory is down and delivers it from the directory once it is back', async () => {
    await directory.stop();
    const sent = await receiveFax({
      tenantId: 't-later',
      dialedNumber: '+4946247100',
      tiff: await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
    });
    const waiting = await eventually(async () => {
      const fax = (await api.getFax({ tenantId: 't-later', faxId: sent.faxId }).catch(() => undefined))?.fax;
      return fax && fax.reasons.length >= 2 ? fax : undefined;
    }, 'two attempts without the directory');
    expect(waiting).toMatchObject({ status: FaxStatus.FAX_STATUS_DELIVERY_PENDING, deliveryAttempts: 0, mailbox: '' });
    expect(waiting.reasons[0]).toMatch(
      /^fax route not resolved: nobody serves sb\.t-later\.directory\.rpc\.ExportTenant/,
    );
    expect(mailsFor(sent.faxId)).toHaveLength(0);

    await startDirectory();
    const fax = await settled('t-later', sent.faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax).toMatchObject({ mailbox: 'zentrale@later.example', departmentId: 'zentrale', viaFallback: false });
    expect(mailsFor(sent.faxId)).toHaveLength(1);
  });
});
