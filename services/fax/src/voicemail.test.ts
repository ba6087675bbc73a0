import * as grpc from '@grpc/grpc-js';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { VOICEMAIL_INBOX_BUCKET, VoicemailEvents, eventSubject } from '@switchboard/events';
import { DirectoryCache } from '@switchboard/directory-cache';
import { directoryServiceV1, faxServiceV1, faxV1 } from '@switchboard/proto';
import { directoryRpcClient } from '@switchboard/rpc-clients';
import {
  createLogger,
  newEventMeta,
  publishEvent,
  type NatsHandle,
  type Principal,
  type RunningService,
} from '@switchboard/service-kit';
import type { ServiceProcess } from '@switchboard/stack';
import {
  startMongo,
  startNats,
  startSmtpSink,
  type MongoServer,
  type NatsServer,
  type SmtpSink,
  eventually,
  testTokens,
} from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleVoicemailWav } from '../test/sample-wav.js';
import { bearer, connectAdapter, metricValue, runDirectory, runFax, unaryCall } from '../test/harness.js';
import { DeliveryDeferredError } from './inbox-delivery.js';
import { createSmtpMailer } from './fax-mail.js';
import { FaxRoutes, type FaxDirectoryDocument } from './fax-routes.js';
import { FaxSettingsStore } from './fax-settings.js';
import { FaxStore } from './fax-store.js';
import { createFaxMetrics, createVoicemailMetrics } from './metrics.js';
import { ObjectInbox } from './inbox-object.js';
import { MailboxResolver } from './mailbox-resolver.js';
import { Retention } from './retention.js';
import { VOICEMAIL_RECEIVED_DURABLE } from './service.js';
import { VoicemailIntake } from './voicemail-intake.js';
import { VoicemailStore } from './voicemail-store.js';

const { VoicemailStatus } = faxServiceV1;
const auth = testTokens();
const DB = 'voicemail_test';
const DIRECTORY_DB = 'voicemail_test_directory';
const DAY_MS = 24 * 60 * 60 * 1_000;
const CALLER = '+4940123456';

let nats: NatsServer;
let mongo: MongoServer;
let smtp: SmtpSink;
let service: RunningService;
let directory: ServiceProcess;
let adapter: NatsHandle;
let inbox: ObjectStore;
let client: faxServiceV1.FaxServiceClient;
let mongoClient: MongoClient;
let operatorToken: string;

function rpc<Req, Res>(target: grpc.Client, method: unknown, request: Req, token = operatorToken): Promise<Res> {
  return unaryCall(target, method, request, token);
}

const api = {
  getVoicemail: (request: faxServiceV1.GetVoicemailRequest, token?: string) =>
    rpc<faxServiceV1.GetVoicemailRequest, faxServiceV1.GetVoicemailResponse>(
      client,
      client.getVoicemail,
      request,
      token,
    ),
  listVoicemails: (request: Partial<faxServiceV1.ListVoicemailsRequest> & { tenantId: string }, token?: string) =>
    rpc<faxServiceV1.ListVoicemailsRequest, faxServiceV1.ListVoicemailsResponse>(
      client,
      client.listVoicemails,
      faxServiceV1.ListVoicemailsRequest.fromPartial(request),
      token,
    ),
  markVoicemailHandled: (request: faxServiceV1.MarkVoicemailHandledRequest, token?: string) =>
    rpc<faxServiceV1.MarkVoicemailHandledRequest, faxServiceV1.MarkVoicemailHandledResponse>(
      client,
      client.markVoicemailHandled,
      request,
      token,
    ),
  retryVoicemailDelivery: (request: faxServiceV1.RetryVoicemailDeliveryRequest, token?: string) =>
    rpc<faxServiceV1.RetryVoicemailDeliveryRequest, faxServiceV1.RetryVoicemailDeliveryResponse>(
      client,
      client.retryVoicemailDelivery,
      request,
      token,
    ),
  updateFaxSettings: (request: faxServiceV1.UpdateFaxSettingsRequest, token?: string) =>
    rpc<faxServiceV1.UpdateFaxSettingsRequest, faxServiceV1.UpdateFaxSettingsResponse>(
      client,
      client.updateFaxSettings,
      request,
      token,
    ),
  listRetentionLog: (request: faxServiceV1.ListRetentionLogRequest, token?: string) =>
    rpc<faxServiceV1.ListRetentionLogRequest, faxServiceV1.ListRetentionLogResponse>(
      client,
      client.listRetentionLog,
      request,
      token,
    ),
};

function download(
  tenantId: string,
  voicemailId: string,
  token = operatorToken,
): Promise<{ bytes: Buffer; fileName: string; contentType: string; totalBytes: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.downloadVoicemail({ tenantId, voicemailId }, bearer(token));
    const chunks: Buffer[] = [];
    let header = { fileName: '', contentType: '', totalBytes: '0' };
    stream.on('data', (part: faxServiceV1.DownloadVoicemailResponse) => {
      if (part.fileName) header = part;
      chunks.push(Buffer.from(part.chunk));
    });
    stream.on('error', reject);
    stream.on('end', () => resolve({ ...header, bytes: Buffer.concat(chunks) }));
  });
}

const token = (principal: Principal) => auth.token(principal);

let calls = 0;
/** What the ARI adapter does: the WAV into the object store, then voicemail-received. */
async function leaveVoicemail(options: {
  tenantId: string;
  departmentId: string;
  wav?: Buffer;
  durationSeconds?: number;
  error?: string;
  callerNumber?: string;
}): Promise<string> {
  calls += 1;
  const callId = `call-${calls}`;
  const objectName = `${options.tenantId}/${callId}.wav`;
  if (options.wav) await inbox.putBlob({ name: objectName }, options.wav);
  const meta = newEventMeta(options.tenantId, 'ari-adapter-test');
  await publishEvent(adapter, VoicemailEvents.received, {
    meta,
    callId,
    adapterId: 'adapter-1',
    departmentId: options.departmentId,
    dialedNumber: '+494624720',
    callerNumber: options.callerNumber ?? CALLER,
    durationSeconds: options.durationSeconds ?? 42,
    error: options.error ?? '',
    startedAt: new Date(Date.now() - 60_000),
    endedAt: new Date(),
    audioUri: options.wav ? `nats-object://${VOICEMAIL_INBOX_BUCKET}/${objectName}` : '',
    audioBytes: String(options.wav?.length ?? 0),
  });
  return meta.eventId;
}

async function settled(
  tenantId: string,
  voicemailId: string,
  status: faxServiceV1.VoicemailStatus,
): Promise<faxServiceV1.Voicemail> {
  return eventually(
    async () => {
      const voicemail = await api.getVoicemail({ tenantId, voicemailId }).then(
        (response) => response.voicemail,
        () => undefined,
      );
      return voicemail?.status === status ? voicemail : undefined;
    },
    `voicemail ${voicemailId} to reach ${faxServiceV1.voicemailStatusToJSON(status)}`,
  );
}

const mailsFor = (voicemailId: string) =>
  smtp.messages.filter((mail) => mail.headers.get('x-switchboard-voicemail-id') === voicemailId);

const mailFor = (voicemailId: string) =>
  smtp.waitForMessage(
    `the mail of voicemail ${voicemailId}`,
    (mail) => mail.headers.get('x-switchboard-voicemail-id') === voicemailId,
  );

const metric = (name: string, labels?: Record<string, string>) => metricValue(service, name, labels);

/** Waits until the voicemail consumer has handled (acknowledged) everything published so far. */
async function consumerIdle(): Promise<void> {
  await eventually(async () => {
    const info = await adapter.jsm.consumers.info('FAX', VOICEMAIL_RECEIVED_DURABLE);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
  }, 'the voicemail consumer to handle every event');
}

beforeAll(async () => {
  [nats, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  const infrastructure = { nats, mongo, smtp, tokens: auth };
  directory = await runDirectory(infrastructure, DIRECTORY_DB);
  service = await runFax(infrastructure, DB);
  adapter = await connectAdapter(nats);
  inbox = await new Objm(adapter.connection).create(VOICEMAIL_INBOX_BUCKET);
  client = new faxServiceV1.FaxServiceClient(`127.0.0.1:${service.grpcPort}`, grpc.credentials.createInsecure());
  mongoClient = await MongoClient.connect(mongo.url);
  operatorToken = await token({ subject: 'ops', tenantId: 'provider', role: 'operator' });

  const directoryClient = new directoryServiceV1.DirectoryServiceClient(
    `127.0.0.1:${directory.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const document = {
    tenant: { tenantId: 't-kropp', name: 'Amt Kropp-Stapelholm', federalState: 'SH' },
    departments: [
      { departmentId: 'buergerbuero', name: 'Bürgerbüro', faxMailbox: 'buergerbuero@amt-kropp.example' },
      { departmentId: 'bauamt', name: 'Bauamt', faxMailbox: '' },
    ],
  };
  await rpc(directoryClient, directoryClient.importTenant, {
    tenantId: 't-kropp',
    document: JSON.stringify(document),
  });
  directoryClient.close();
  const admin = await token({ subject: 'anna', tenantId: 't-kropp', role: 'admin' });
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
  await directory?.stop();
  await Promise.all([smtp?.stop(), nats?.stop(), mongo?.stop()]);
});

describe('voicemail inbox', () => {
  it("mails a voicemail to its department's mailbox with the recording attached, as stored", async () => {
    const received = await metric('voicemail_received_total', { result: 'success' });
    const wav = sampleVoicemailWav({ seconds: 2, seed: 3 });
    const id = await leaveVoicemail({ tenantId: 't-kropp', departmentId: 'buergerbuero', wav, durationSeconds: 42 });

    const mail = await mailFor(id);
    expect(mail.subject).toBe(`Voicemail for Bürgerbüro from ${CALLER} (0:42)`);
    expect(mail.to).toMatchObject({ text: 'buergerbuero@amt-kropp.example' });
    expect(mail.text).toContain('Duration: 0:42 (attached as WAV)');
    expect(mail.attachments).toHaveLength(1);
    const attachment = mail.attachments[0]!;
    expect(attachment.contentType).toBe('audio/wav');
    expect(Buffer.compare(attachment.content, wav)).toBe(0);

    const voicemail = await settled('t-kropp', id, VoicemailStatus.VOICEMAIL_STATUS_DELIVERED);
    expect(voicemail).toMatchObject({
      departmentId: 'buergerbuero',
      callerNumber: CALLER,
      durationSeconds: 42,
      mailbox: 'buergerbuero@amt-kropp.example',
      viaFallback: false,
      deliveryAttempts: 1,
      hasAudio: true,
      audioBytes: String(wav.length),
      reasons: [],
    });
    const stored = await download('t-kropp', id);
    expect(stored).toMatchObject({
      contentType: 'audio/wav',
      fileName: attachment.filename,
      totalBytes: String(wav.length),
    });
    expect(Buffer.compare(stored.bytes, wav)).toBe(0);
    // The adapter's copy is gone once ours is in GridFS: retention governs the only copy.
    expect(await inbox.getBlob(`t-kropp/call-1.wav`)).toBeNull();
    const files = mongoClient.db(DB).collection('voicemailaudio.files');
    expect(await files.findOne({ _id: `${id}:audio` as never })).toMatchObject({
      metadata: {
        tenantId: 't-kropp',
        voicemailId: id,
        departmentId: 'buergerbuero',
        status: 'VOICEMAIL_STATUS_DELIVERED',
      },
    });
    expect(await metric('voicemail_received_total', { result: 'success' })).toBe(received + 1);
    expect(await metric('voicemail_delivery_attempts_total', { outcome: 'sent' })).toBeGreaterThanOrEqual(1);
  });

  it('repeats nothing for a redelivered event: one record, one mail', async () => {
    const id = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'buergerbuero',
      wav: sampleVoicemailWav({ seconds: 1, seed: 4 }),
    });
    await mailFor(id);
    await settled('t-kropp', id, VoicemailStatus.VOICEMAIL_STATUS_DELIVERED);
    const received = await metric('voicemail_received_total');

    // The same event again under a new Nats-Msg-Id, so JetStream stores and delivers it twice.
    const original = await adapter.jsm.streams.getMessage('FAX', { last_by_subj: 'sb.t-kropp.voicemail.received' });
    await adapter.js.publish(eventSubject('t-kropp', 'voicemail', 'received'), original!.data, {
      msgID: 'replayed-vm',
    });
    await consumerIdle();
    expect(mailsFor(id)).toHaveLength(1);
    expect(await metric('voicemail_received_total')).toBe(received);
    expect((await api.getVoicemail({ tenantId: 't-kropp', voicemailId: id })).voicemail).toMatchObject({
      deliveryAttempts: 1,
      status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
    });
  });

  it('sends a voicemail for a department without a mailbox, or one the directory does not know, to the fallback', async () => {
    const before = await metric('voicemail_unrouted_total');
    const noMailbox = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'bauamt',
      wav: sampleVoicemailWav({ seconds: 1, seed: 5 }),
    });
    const unknown = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'ordnungsamt',
      wav: sampleVoicemailWav({ seconds: 1, seed: 6 }),
    });
    expect((await mailFor(noMailbox)).subject).toBe(`Voicemail for Bauamt from ${CALLER} (0:42)`);
    expect((await mailFor(unknown)).subject).toBe(`Voicemail for ordnungsamt from ${CALLER} (0:42)`);
    for (const id of [noMailbox, unknown]) {
      expect(await settled('t-kropp', id, VoicemailStatus.VOICEMAIL_STATUS_DELIVERED)).toMatchObject({
        mailbox: 'poststelle@amt-kropp.example',
        viaFallback: true,
      });
    }
    expect(await metric('voicemail_unrouted_total')).toBe(before + 2);
  });

  it('keeps a voicemail with no mailbox in the inbox with the reason, and delivers it on retry by an admin', async () => {
    const before = await metric('voicemail_failures_total', { reason: 'no_mailbox' });
    const id = await leaveVoicemail({
      tenantId: 't-nomail',
      departmentId: 'zentrale',
      wav: sampleVoicemailWav({ seconds: 1, seed: 7 }),
    });
    const kept = await settled('t-nomail', id, VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX);
    expect(kept.reasons).toEqual([
      'department zentrale is not in the directory and there is no fallback mailbox: kept in the inbox',
    ]);
    expect(kept.hasAudio).toBe(true);
    expect(mailsFor(id)).toHaveLength(0);
    expect(await metric('voicemail_failures_total', { reason: 'no_mailbox' })).toBe(before + 1);

    const admin = await token({ subject: 'bert', tenantId: 't-nomail', role: 'admin' });
    const agent = await token({ subject: 'carl', tenantId: 't-nomail', role: 'agent' });
    await expect(api.retryVoicemailDelivery({ tenantId: 't-nomail', voicemailId: id }, agent)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await api.updateFaxSettings(
      { tenantId: 't-nomail', settings: { fallbackMailbox: 'zentrale@nomail.example', retentionDays: 30 } },
      admin,
    );
    const retried = await api.retryVoicemailDelivery({ tenantId: 't-nomail', voicemailId: id }, admin);
    expect(retried.voicemail).toMatchObject({
      status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
      mailbox: 'zentrale@nomail.example',
      viaFallback: true,
    });
    expect((await mailFor(id)).attachments).toHaveLength(1);
    await expect(api.retryVoicemailDelivery({ tenantId: 't-nomail', voicemailId: id }, admin)).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
  });

  it('keeps a failed recording with its reason, counts it as failed, and still tells the department who called', async () => {
    const failures = await metric('voicemail_failures_total');
    const failedBefore = await metric('voicemail_received_total', { result: 'failed' });
    const nothing = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'buergerbuero',
      error: 'Recording failed: Unable to create file',
      durationSeconds: 0,
    });
    const partial = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'buergerbuero',
      wav: sampleVoicemailWav({ seconds: 1, seed: 8 }),
      durationSeconds: 9,
      error: 'hangup during recording',
    });

    const notice = await mailFor(nothing);
    expect(notice.subject).toBe(`FAILED voicemail for Bürgerbüro from ${CALLER} (not recorded)`);
    expect(notice.attachments).toHaveLength(0);
    expect(notice.text).toContain('The message could not be recorded (Recording failed: Unable to create file).');
    expect(notice.text).toContain(`Please call ${CALLER} back.`);
    const kept = await settled('t-kropp', nothing, VoicemailStatus.VOICEMAIL_STATUS_DELIVERED);
    expect(kept).toMatchObject({
      hasAudio: false,
      recordingError: 'Recording failed: Unable to create file',
      reasons: ['recording failed: Recording failed: Unable to create file', 'no audio was received'],
    });
    await expect(download('t-kropp', nothing)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });

    const incomplete = await mailFor(partial);
    expect(incomplete.subject).toBe(`INCOMPLETE voicemail for Bürgerbüro from ${CALLER} (0:09)`);
    expect(incomplete.attachments).toHaveLength(1);
    expect(incomplete.text).toContain('The recording broke off (hangup during recording)');
    // Counted once, by the adapter that saw the recording fail; here only as received with result failed.
    expect(await metric('voicemail_failures_total')).toBe(failures);
    expect(await metric('voicemail_received_total', { result: 'failed' })).toBe(failedBefore + 2);
  });

  it('retries while the SMTP server is down and mails exactly once when it is back', async () => {
    await smtp.stop();
    const id = await leaveVoicemail({
      tenantId: 't-kropp',
      departmentId: 'buergerbuero',
      wav: sampleVoicemailWav({ seconds: 1, seed: 9 }),
    });
    const waiting = await eventually(async () => {
      const found = (await api.getVoicemail({ tenantId: 't-kropp', voicemailId: id }).catch(() => undefined))
        ?.voicemail;
      return found && found.deliveryAttempts >= 2 ? found : undefined;
    }, 'two failed delivery attempts');
    expect(waiting.status).toBe(VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_PENDING);
    expect(waiting.reasons.at(-1)).toMatch(/^delivery to buergerbuero@amt-kropp\.example failed: /);

    await smtp.start();
    await mailFor(id);
    const delivered = await settled('t-kropp', id, VoicemailStatus.VOICEMAIL_STATUS_DELIVERED);
    expect(delivered.deliveryAttempts).toBeGreaterThanOrEqual(3);
    expect(mailsFor(id)).toHaveLength(1);
  });

  it('records DELIVERY_FAILED after the last attempt, keeps the voicemail, and delivers it once on retry', async () => {
    const db = mongoClient.db(DB);
    const logger = createLogger({ service: 'intake-test', level: 'silent' });
    const directoryCache = new DirectoryCache<FaxRoutes, FaxDirectoryDocument>(
      directoryRpcClient(adapter, 3_000),
      logger,
      (tenantId, document) => new FaxRoutes(tenantId, document),
    );
    const mailer = createSmtpMailer(smtp.url, 2_000);
    // The intake as the service's consumer runs it, handed the event directly so this test decides
    // which delivery is the last.
    const intake = new VoicemailIntake({
      store: new VoicemailStore(db),
      mailboxes: new MailboxResolver(directoryCache, new FaxSettingsStore(db, 90)),
      inbox: new ObjectInbox(adapter.connection, VOICEMAIL_INBOX_BUCKET),
      mailer,
      metrics: createVoicemailMetrics(),
      logger,
      mailFrom: 'Voicemail <voicemail@test.example>',
    });
    const wav = sampleVoicemailWav({ seconds: 1, seed: 10 });
    await inbox.putBlob({ name: 't-kropp/direct.wav' }, wav);
    const event = faxV1.VoicemailReceived.fromPartial({
      meta: newEventMeta('t-kropp', 'ari-adapter-test'),
      callId: 'call-direct',
      departmentId: 'buergerbuero',
      callerNumber: CALLER,
      durationSeconds: 12,
      endedAt: new Date(),
      audioUri: `nats-object://${VOICEMAIL_INBOX_BUCKET}/t-kropp/direct.wav`,
      audioBytes: String(wav.length),
    });
    const id = event.meta!.eventId;

    await smtp.stop();
    try {
      await expect(intake.process(event, { lastAttempt: false })).rejects.toBeInstanceOf(DeliveryDeferredError);
      const failed = await intake.process(event, { lastAttempt: true });
      expect(failed).toMatchObject({ status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED, deliveryAttempts: 2 });
      expect(failed.reasons).toHaveLength(2);
      expect(failed.reasons[1]).toMatch(/^delivery to buergerbuero@amt-kropp\.example failed: /);
    } finally {
      await smtp.start();
    }
    // Settled: the event once more does nothing, even with the SMTP server back.
    expect((await intake.process(event, { lastAttempt: false })).status).toBe(
      VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED,
    );
    expect(mailsFor(id)).toHaveLength(0);

    const admin = await token({ subject: 'anna', tenantId: 't-kropp', role: 'admin' });
    const retried = await api.retryVoicemailDelivery({ tenantId: 't-kropp', voicemailId: id }, admin);
    expect(retried.voicemail).toMatchObject({
      status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
      deliveryAttempts: 3,
    });
    expect(Buffer.compare((await mailFor(id)).attachments[0]!.content, wav)).toBe(0);
    expect(mailsFor(id)).toHaveLength(1);
    mailer.close();
  });

  it('lists the inbox newest first, marks a voicemail handled and keeps tenants apart', async () => {
    // The inbox is the tenant administrator's (see policy.ts).
    const clara = await token({ subject: 'clara', tenantId: 't-kropp', role: 'admin' });
    const all = await api.listVoicemails({ tenantId: 't-kropp' }, clara);
    expect(all.voicemails.length).toBeGreaterThanOrEqual(6);
    const times = all.voicemails.map((voicemail) => voicemail.receivedAt!.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const paged = await api.listVoicemails({ tenantId: 't-kropp', pageSize: 2 }, clara);
    expect(paged.voicemails.map((voicemail) => voicemail.voicemailId)).toEqual(
      all.voicemails.slice(0, 2).map((voicemail) => voicemail.voicemailId),
    );
    expect(paged.nextPageToken).toBe('2');

    const target = all.voicemails[0]!;
    const handled = await api.markVoicemailHandled({ tenantId: 't-kropp', voicemailId: target.voicemailId }, clara);
    expect(handled.voicemail).toMatchObject({ handledBy: 'clara' });
    const open = await api.listVoicemails({ tenantId: 't-kropp', unhandledOnly: true }, clara);
    expect(open.voicemails.map((voicemail) => voicemail.voicemailId)).not.toContain(target.voicemailId);
    expect(open.voicemails).toHaveLength(all.voicemails.length - 1);

    const other = await token({ subject: 'eve', tenantId: 't-other', role: 'admin' });
    const denied = { code: grpc.status.PERMISSION_DENIED };
    const request = { tenantId: 't-kropp', voicemailId: target.voicemailId };
    await expect(api.listVoicemails({ tenantId: 't-kropp' }, other)).rejects.toMatchObject(denied);
    await expect(api.getVoicemail(request, other)).rejects.toMatchObject(denied);
    await expect(download('t-kropp', target.voicemailId, other)).rejects.toMatchObject(denied);
    await expect(api.markVoicemailHandled(request, other)).rejects.toMatchObject(denied);
    const notFound = { code: grpc.status.NOT_FOUND };
    const theirs = { tenantId: 't-other', voicemailId: target.voicemailId };
    await expect(api.getVoicemail(theirs, other)).rejects.toMatchObject(notFound);
    await expect(download('t-other', target.voicemailId, other)).rejects.toMatchObject(notFound);
    await expect(api.markVoicemailHandled(theirs, other)).rejects.toMatchObject(notFound);
    await expect(api.getVoicemail({ tenantId: 't-kropp', voicemailId: '' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it("gives a department lead their departments' voicemails only, and refuses another's", async () => {
    const all = (await api.listVoicemails({ tenantId: 't-kropp' })).voicemails;
    const ofDepartment = (departmentId: string) => all.filter((voicemail) => voicemail.departmentId === departmentId);
    const ids = (voicemails: faxServiceV1.Voicemail[]) => voicemails.map((voicemail) => voicemail.voicemailId);
    expect(ofDepartment('buergerbuero').length).toBeGreaterThan(0);
    const other = all.find((voicemail) => voicemail.departmentId !== 'buergerbuero' && !voicemail.handledAt)!;
    expect(other).toBeDefined();
    const lead = await token({
      subject: 'lena',
      tenantId: 't-kropp',
      role: 'supervisor',
      departments: ['buergerbuero'],
    });

    expect(ids((await api.listVoicemails({ tenantId: 't-kropp' }, lead)).voicemails)).toEqual(
      ids(ofDepartment('buergerbuero')),
    );
    expect(
      ids((await api.listVoicemails({ tenantId: 't-kropp', departmentId: 'buergerbuero' }, lead)).voicemails),
    ).toEqual(ids(ofDepartment('buergerbuero')));
    const own = ofDepartment('buergerbuero').find((voicemail) => voicemail.hasAudio)!;
    const request = { tenantId: 't-kropp', voicemailId: own.voicemailId };
    expect((await api.getVoicemail(request, lead)).voicemail?.voicemailId).toBe(own.voicemailId);
    expect((await download('t-kropp', own.voicemailId, lead)).contentType).toBe('audio/wav');
    expect((await api.markVoicemailHandled(request, lead)).voicemail?.handledBy).toBe('lena');

    const denied = { code: grpc.status.PERMISSION_DENIED };
    const theirs = { tenantId: 't-kropp', voicemailId: other.voicemailId };
    await expect(
      api.listVoicemails({ tenantId: 't-kropp', departmentId: other.departmentId || 'bauamt' }, lead),
    ).rejects.toMatchObject(denied);
    await expect(api.getVoicemail(theirs, lead)).rejects.toMatchObject(denied);
    await expect(download('t-kropp', other.voicemailId, lead)).rejects.toMatchObject(denied);
    await expect(api.markVoicemailHandled(theirs, lead)).rejects.toMatchObject(denied);
    expect((await api.getVoicemail(theirs)).voicemail?.handledAt).toBeUndefined();
    await expect(api.retryVoicemailDelivery(request, lead)).rejects.toMatchObject(denied);
  });

  it("deletes voicemails past their tenant's retention with their audio and logs them", async () => {
    const db = mongoClient.db(DB);
    const voicemails = new VoicemailStore(db);
    const retention = new Retention(db, {
      faxes: new FaxStore(db),
      voicemails,
      settings: new FaxSettingsStore(db, 90),
      faxMetrics: createFaxMetrics(),
      voicemailMetrics: createVoicemailMetrics(),
      logger: createLogger({ service: 'retention-test', level: 'silent' }),
    });
    const kept = (await api.listVoicemails({ tenantId: 't-kropp' })).voicemails.length;
    const [expiring] = (await api.listVoicemails({ tenantId: 't-nomail' })).voicemails;

    // t-nomail keeps 30 days, t-kropp the default 90: 31 days on, only t-nomail's voicemail goes.
    expect(await retention.sweep(new Date(Date.now() + 31 * DAY_MS))).toBe(1);
    await expect(api.getVoicemail({ tenantId: 't-nomail', voicemailId: expiring!.voicemailId })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    expect(
      await db.collection('voicemailaudio.files').countDocuments({ 'metadata.voicemailId': expiring!.voicemailId }),
    ).toBe(0);
    expect(
      await db.collection('voicemailaudio.chunks').countDocuments({ files_id: `${expiring!.voicemailId}:audio` }),
    ).toBe(0);
    expect((await api.listVoicemails({ tenantId: 't-kropp' })).voicemails).toHaveLength(kept);

    const log = await api.listRetentionLog({ tenantId: 't-nomail', pageSize: 0 });
    expect(log.entries).toEqual([
      expect.objectContaining({
        faxId: '',
        voicemailId: expiring!.voicemailId,
        callerNumber: CALLER,
        durationSeconds: 42,
        voicemailStatus: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
        retentionDays: 30,
      }),
    ]);
    expect(await retention.sweep(new Date(Date.now() + 31 * DAY_MS))).toBe(0);
  });
});
