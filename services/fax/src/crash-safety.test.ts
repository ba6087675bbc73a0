import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { FAX_INBOX_BUCKET, FaxEvents } from '@switchboard/events';
import { directoryServiceV1, faxServiceV1, faxV1 } from '@switchboard/proto';
import { newEventMeta, publishEvent, type NatsHandle } from '@switchboard/service-kit';
import type { ServiceProcess } from '@switchboard/stack';
import {
  eventually,
  startMongo,
  startNats,
  startSmtpSink,
  testTokens,
  type MongoServer,
  type NatsServer,
  type SmtpSink,
} from '@switchboard/testkit';
import { Binary, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectAdapter, runDirectory, spawnFax, unaryCall, type Infrastructure } from '../test/harness.js';
import { startSmtpHoldProxy, type SmtpHoldProxy } from '../test/smtp-hold.js';
import { MAX_CONVERSION_STARTS } from './fax-intake.js';
import type { FaxRecord } from './fax-store.js';
import { sampleFaxTiff } from './testing/sample-tiff.js';

/**
 * The fax service as a real process, SIGKILLed at known steps of its work: while an SMTP server
 * has not answered its DATA command, after the server took the mail but before the service heard
 * so, while libtiff converts the fax, and by a document that kills it in every conversion. The
 * test holds each step at a point outside the service (a proxy in front of the SMTP server, a
 * `tiffinfo` on the PATH that waits or kills) and kills once the service is known to be there.
 * Storing the original has no such point (GridFS writes of the process itself): that test sets
 * up what a kill during the upload leaves and lets the service meet it.
 */

const { FaxStatus } = faxServiceV1;
const auth = testTokens();
const DB = 'fax_crash';
const TENANT = 't-crash';
const NUMBER = '+4946248009';
const MAILBOX = 'ordnungsamt@crash.example';

let nats: NatsServer;
let mongo: MongoServer;
let smtp: SmtpSink;
let proxy: SmtpHoldProxy;
let directory: ServiceProcess;
let adapter: NatsHandle;
let inbox: ObjectStore;
let mongoClient: MongoClient;
let workDir: string;
const running = new Set<ServiceProcess>();
const orphans: number[] = [];

// Each test starts the service two to four times; on a loaded 2-core machine a start takes tens of seconds.
const infrastructure = (): Infrastructure => ({ nats, mongo, smtp, tokens: auth });

/** Short ack wait: a killed process's fax comes back to the restarted one within a second. */
async function startFax(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const fax = await spawnFax(infrastructure(), DB, workDir, {
    SMTP_URL: proxy.url,
    SMTP_TIMEOUT_MS: '2000',
    FAX_ACK_WAIT_MS: '1000',
    FAX_DELIVERY_BACKOFF_MS: '300,600',
    FAX_DELIVERY_MAX_ATTEMPTS: '20',
    ...env,
  });
  running.add(fax);
  void fax.exited.then(() => running.delete(fax));
  return fax;
}

async function kill(fax: ServiceProcess): Promise<void> {
  await fax.stop('SIGKILL');
}

/**
 * A directory on the PATH whose `tiffinfo` runs `script` instead of libtiff's (the service runs
 * the tools by name); `tiff2pdf` stays the real one.
 */
async function toolsWith(name: string, script: string): Promise<string> {
  const dir = path.join(workDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'tiffinfo'), `#!/bin/sh\n${script}\n`);
  await chmod(path.join(dir, 'tiffinfo'), 0o755);
  return `${dir}:${process.env['PATH'] ?? ''}`;
}

let calls = 0;
/** What the ARI adapter does: the TIFF into the object store, then fax-received. */
async function receiveFax(
  tiff: Buffer,
  pages: number,
  dialedNumber = NUMBER,
  meta = newEventMeta(TENANT, 'ari-adapter-test'),
): Promise<string> {
  calls += 1;
  const objectName = `${TENANT}/crash-${calls}.tif`;
  await inbox.putBlob({ name: objectName }, tiff);
  await publishEvent(adapter, FaxEvents.received, {
    meta,
    callId: `crash-${calls}`,
    adapterId: 'adapter-1',
    dialedNumber,
    callerNumber: '+4940123456',
    remoteStationId: 'CRASH TEST',
    pages,
    result: faxV1.FaxResult.FAX_RESULT_SUCCESS,
    error: '',
    startedAt: new Date(Date.now() - 60_000),
    endedAt: new Date(),
    documentUri: `nats-object://${FAX_INBOX_BUCKET}/${objectName}`,
    documentBytes: String(tiff.length),
  });
  return meta.eventId;
}

const faxes = () => mongoClient.db(DB).collection<FaxRecord>('faxes');

function record(faxId: string): Promise<FaxRecord | null> {
  return faxes().findOne({ _id: faxId });
}

function settled(faxId: string, status: faxServiceV1.FaxStatus): Promise<FaxRecord> {
  return eventually(
    async () => {
      const fax = await record(faxId);
      return fax?.status === status ? fax : undefined;
    },
    `fax ${faxId} to reach ${faxServiceV1.faxStatusToJSON(status)}`,
  );
}

function mailsFor(faxId: string): SmtpSink['messages'] {
  return smtp.messages.filter((mail) => mail.headers.get('x-switchboard-fax-id') === faxId);
}

beforeAll(async () => {
  [nats, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  proxy = await startSmtpHoldProxy(smtp.port);
  workDir = await mkdtemp(path.join(tmpdir(), 'sb-fax-crash-'));
  directory = await runDirectory(infrastructure(), 'fax_crash_directory');
  const directoryClient = new directoryServiceV1.DirectoryServiceClient(
    `127.0.0.1:${directory.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const operator = await auth.token({ subject: 'ops', tenantId: 'provider', role: 'operator' });
  const document = {
    tenant: { tenantId: TENANT, name: TENANT, federalState: 'SH' },
    numbers: [{ number: NUMBER, kind: 'fax', entryPoint: { kind: 'fax-department', target: 'ordnungsamt' } }],
    departments: [{ departmentId: 'ordnungsamt', name: 'Ordnungsamt', faxMailbox: MAILBOX }],
  };
  await unaryCall(
    directoryClient,
    directoryClient.importTenant,
    { tenantId: TENANT, document: JSON.stringify(document) },
    operator,
  );
  directoryClient.close();
  adapter = await connectAdapter(nats);
  inbox = await new Objm(adapter.connection).create(FAX_INBOX_BUCKET);
  mongoClient = await MongoClient.connect(mongo.url);
});

afterEach(async () => {
  for (const pid of orphans.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await Promise.all([...running].map((fax) => fax.stop()));
  proxy.holdAt('none');
});

afterAll(async () => {
  await mongoClient?.close();
  await adapter?.connection.close();
  await directory?.stop();
  await proxy?.close();
  await Promise.all([smtp?.stop(), nats?.stop(), mongo?.stop()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('fax crash safety', () => {
  it('a service killed while the SMTP server has not answered DATA: the restarted one mails the fax once', async () => {
    const first = await startFax();
    const { held } = proxy.holdAt('data');
    const faxId = await receiveFax(await sampleFaxTiff({ pages: 2, compression: 'g4', resolution: 'fine' }), 2);
    await held;
    await kill(first);
    expect(await record(faxId)).toMatchObject({ status: FaxStatus.FAX_STATUS_DELIVERY_PENDING, deliveredAt: null });

    proxy.holdAt('none');
    await startFax();
    const fax = await settled(faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax).toMatchObject({ mailbox: MAILBOX, messageId: `<${faxId}@fax.switchboard>`, conversionStarts: 1 });
    const mails = mailsFor(faxId);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.messageId).toBe(`<${faxId}@fax.switchboard>`);
    expect(mails[0]!.attachments).toHaveLength(1);
    // The adapter's copy went once ours was stored, before the crash.
    expect(await inbox.getBlob(`${TENANT}/crash-${calls}.tif`)).toBeNull();
  }, 180_000);

  it('a service killed after the SMTP server took the mail, before it heard so: the repeat has the same Message-ID', async () => {
    const first = await startFax();
    const { held } = proxy.holdAt('reply');
    const faxId = await receiveFax(await sampleFaxTiff({ pages: 1, compression: 'g3-2d', resolution: 'fine' }), 1);
    await held;
    await smtp.waitForMessage('the first copy', (mail) => mail.headers.get('x-switchboard-fax-id') === faxId);
    await kill(first);
    expect((await record(faxId))?.status).toBe(FaxStatus.FAX_STATUS_DELIVERY_PENDING);

    proxy.holdAt('none');
    await startFax();
    const fax = await settled(faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax.deliveryAttempts).toBe(1);
    const mails = mailsFor(faxId);
    expect(mails).toHaveLength(2);
    expect(new Set(mails.map((mail) => mail.messageId))).toEqual(new Set([`<${faxId}@fax.switchboard>`]));
    expect(Buffer.compare(mails[0]!.attachments[0]!.content, mails[1]!.attachments[0]!.content)).toBe(0);
  }, 180_000);

  it('an upload of the original a crash cut short (chunks without their files entry) is stored again whole', async () => {
    await startFax();
    const meta = newEventMeta(TENANT, 'ari-adapter-test');
    const fileId = `${meta.eventId}:original`;
    // What a process killed while GridFS wrote the TIFF leaves: chunks, and no `files` entry yet.
    const chunks = mongoClient.db(DB).collection<{ files_id: string; n: number; data: Binary }>('faxdocs.chunks');
    await chunks.insertMany(
      [0, 1, 7].map((n) => ({ files_id: fileId, n, data: new Binary(Buffer.alloc(1024, n + 1)) })),
    );
    const tiff = await sampleFaxTiff({ pages: 2, compression: 'g3-1d', resolution: 'normal', seed: 6 });
    const faxId = await receiveFax(tiff, 2, NUMBER, meta);
    await settled(faxId, FaxStatus.FAX_STATUS_DELIVERED);
    const stored = await chunks.find({ files_id: fileId }).sort({ n: 1 }).toArray();
    expect(Buffer.concat(stored.map((chunk) => Buffer.from(chunk.data.buffer)))).toEqual(tiff);
    expect(stored.map((chunk) => chunk.n)).toEqual(stored.map((_, index) => index));
    expect(mailsFor(faxId)).toHaveLength(1);
  }, 180_000);

  it('a service killed during the conversion: the restarted one converts and mails the fax once', async () => {
    const pidFile = path.join(workDir, 'converting.pid');
    // The script becomes a `sleep` that holds the conversion until the test kills it.
    const holding = await toolsWith('holding-tools', `echo $$ > ${pidFile}\nexec sleep 600`);
    const first = await startFax({ PATH: holding });
    const tiff = await sampleFaxTiff({ pages: 3, compression: 'g4', resolution: 'normal', seed: 3 });
    const faxId = await receiveFax(tiff, 3);
    const converter = await eventually(
      async () => (existsSync(pidFile) ? Number(await readFile(pidFile, 'utf8')) || undefined : undefined),
      'the conversion to begin',
    );
    orphans.push(converter);
    await kill(first);
    expect(await record(faxId)).toMatchObject({
      status: FaxStatus.FAX_STATUS_RECEIVED,
      conversionStarts: 1,
      pdfFileId: null,
      originalFileId: `${faxId}:original`,
    });

    await startFax();
    const fax = await settled(faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax).toMatchObject({ pages: 3, conversionStarts: 2, pdfFileId: `${faxId}:pdf` });
    const mails = mailsFor(faxId);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/\(3 pages\)$/);
  }, 180_000);

  it(`a document that kills the service in every conversion ends NOT_CONVERTED after ${MAX_CONVERSION_STARTS}, unmailed`, async () => {
    const killing = await toolsWith('killing-tools', 'kill -9 $PPID\nexit 1');
    const tiff = await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal', seed: 4 });
    const first = await startFax({ PATH: killing });
    const faxId = await receiveFax(tiff, 1);
    await first.exited;
    // Each start takes the redelivered fax and dies in its conversion, possibly before it reports
    // ready; the one after the last allowed conversion settles the fax and stays up.
    let survivor: ServiceProcess | undefined;
    for (let start = 1; !survivor; start += 1) {
      expect(start).toBeLessThanOrEqual(MAX_CONVERSION_STARTS + 1);
      const fax = await startFax({ PATH: killing }).catch((error: Error) => {
        if (!/exited early/.test(error.message)) throw error;
        return undefined;
      });
      if (!fax) continue;
      const outcome = await Promise.race([
        fax.exited.then(() => 'died' as const),
        settled(faxId, FaxStatus.FAX_STATUS_NOT_CONVERTED).then(() => 'settled' as const),
      ]);
      if (outcome === 'settled') survivor = fax;
    }
    const kept = await settled(faxId, FaxStatus.FAX_STATUS_NOT_CONVERTED);
    expect(kept.reasons.at(-1)).toBe(
      `not converted: ${MAX_CONVERSION_STARTS} conversions began and none finished (the service stopped during each, or the tools could not run)`,
    );
    expect(kept).toMatchObject({ conversionStarts: MAX_CONVERSION_STARTS, originalFileId: `${faxId}:original` });
    expect(mailsFor(faxId)).toHaveLength(0);
    // The service that settled it is still up: the document never reached its tools again.
    expect(running.has(survivor)).toBe(true);
  }, 360_000);

  it('a retry by API whose service was killed while mailing is delivered by the restarted one', async () => {
    const first = await startFax();
    // No fallback mailbox and a number the directory does not route: kept as NO_MAILBOX.
    const faxId = await receiveFax(
      await sampleFaxTiff({ pages: 1, compression: 'g4', resolution: 'normal' }),
      1,
      '+4946248111',
    );
    await settled(faxId, FaxStatus.FAX_STATUS_NO_MAILBOX);
    const admin = await auth.token({ subject: 'anna', tenantId: TENANT, role: 'admin' });
    const client = new faxServiceV1.FaxServiceClient(`127.0.0.1:${first.grpcPort}`, grpc.credentials.createInsecure());
    await unaryCall(
      client,
      client.updateFaxSettings,
      { tenantId: TENANT, settings: { fallbackMailbox: 'poststelle@crash.example', retentionDays: 30 } },
      admin,
    );
    const { held } = proxy.holdAt('data');
    const retry = unaryCall(client, client.retryFaxDelivery, { tenantId: TENANT, faxId }, admin);
    retry.catch(() => undefined);
    await held;
    await kill(first);
    await expect(retry).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    client.close();
    expect((await record(faxId))?.status).toBe(FaxStatus.FAX_STATUS_DELIVERY_PENDING);

    proxy.holdAt('none');
    await startFax({ FAX_RETRY_LEASE_MS: '2000' });
    const fax = await settled(faxId, FaxStatus.FAX_STATUS_DELIVERED);
    expect(fax.mailbox).toBe('poststelle@crash.example');
    expect(mailsFor(faxId)).toHaveLength(1);
  }, 180_000);
});
