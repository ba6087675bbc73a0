import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ariAdapter } from '@switchboard/ari-adapter';
import { startAriSim, type AriSim } from '@switchboard/ari-sim';
import { directoryService } from '@switchboard/directory';
import { CallEvents, callControlSubject } from '@switchboard/events';
import { faxService } from '@switchboard/fax';
import { sampleFaxTiff } from '@switchboard/fax/testing';
import { callControlV1, directoryServiceV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  natsRpcClient,
  runService,
  startConsumer,
  type NatsHandle,
  type RunningConsumer,
  type RunningService,
} from '@switchboard/service-kit';
import { CALLS_STREAM } from '@switchboard/events';
import {
  startMongo,
  startNats,
  startSmtpSink,
  type MongoServer,
  type NatsServer,
  type SmtpSink,
  TESTER,
  testTokens,
} from '@switchboard/testkit';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TENANT = 't-kropp';
const FAX_NUMBER = '+494624809';
const TOKENS = testTokens();
const quiet = createLogger({ service: 'e2e', level: 'silent' });

let nats: NatsServer;
let mongo: MongoServer;
let smtp: SmtpSink;
let sim: AriSim;
let adapter: RunningService;
let directory: RunningService;
let fax: RunningService;
let bus: NatsHandle;
let router: RunningConsumer;
let tiffDir: string;
const stops: Array<() => Promise<unknown>> = [];

const commonEnv = (extra: Record<string, string>) => ({
  ...TOKENS.env,
  DEVICE_SECRET_KEY: '3c9a5e07d1b84f26a0e7c5139d2b68f4e1a7c09b5d3f62e8a4c1b7d09e5f2a36',
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  LOG_LEVEL: 'silent',
  SHUTDOWN_TIMEOUT_MS: '5000',
  ...extra,
});

beforeAll(async () => {
  [nats, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  stops.push(
    () => nats.stop(),
    () => mongo.stop(),
    () => smtp.stop(),
  );
  sim = await startAriSim({ username: 'switchboard', password: 'ari-secret', timeScale: 0.01 });
  stops.push(() => sim.stop());
  adapter = await runService(ariAdapter, {
    handleSignals: false,
    env: commonEnv({
      ...nats.env('ari-adapter'),
      ARI_URL: sim.url,
      ARI_USERNAME: 'switchboard',
      ARI_PASSWORD: 'ari-secret',
      ADAPTER_ID: 'pbx-1',
      NUMBER_PLAN: JSON.stringify({
        fallbackTenant: 'provider',
        tenants: [{ tenantId: TENANT, numberPrefixes: ['+49462480'] }],
      }),
    }),
  });
  stops.push(() => adapter.shutdown('test over'));
  directory = await runService(directoryService, {
    handleSignals: false,
    env: commonEnv({ ...nats.env('directory'), MONGO_URL: mongo.url, MONGO_DB: 'e2e_directory' }),
  });
  stops.push(() => directory.shutdown('test over'));
  fax = await runService(faxService, {
    handleSignals: false,
    env: commonEnv({
      ...nats.env('fax'),
      MONGO_URL: mongo.url,
      MONGO_DB: 'e2e_fax',
      SMTP_URL: smtp.url,
      FAX_DELIVERY_BACKOFF_MS: '200',
    }),
  });
  stops.push(() => fax.shutdown('test over'));
  bus = await connectNats({ url: nats.url, credentials: nats.credentials(TESTER), name: 'e2e', logger: quiet });
  stops.push(() => bus.connection.close());

  // Routing is a later service; here a stand-in sends calls to the fax number into ReceiveFAX,
  // through the same call-control requests routing will use.
  const control = natsRpcClient(bus, {
    definition: callControlV1.CallControlServiceService,
    subjectFor: (method, request) => callControlSubject(request.tenantId, 'pbx-1', method),
    timeoutMs: 30_000,
  });
  router = await startConsumer(bus, quiet, {
    stream: CALLS_STREAM,
    durable: 'e2e-fax-router',
    filterSubjects: ['sb.*.call.started'],
    handler: async (message) => {
      const started = message.decode(CallEvents.started);
      if (started.dialedNumber !== FAX_NUMBER) return;
      const call = { tenantId: started.meta!.tenantId, callId: started.callId };
      await control.answer({ ...call, commandId: randomUUID() });
      await control.receiveFax({ ...call, commandId: randomUUID() });
    },
  });
  stops.push(() => router.stop());
  tiffDir = await mkdtemp(path.join(tmpdir(), 'e2e-fax-'));
  stops.push(() => rm(tiffDir, { recursive: true, force: true }));
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

function waitForMail(count: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      if (smtp.messages.length >= count) return resolve();
      if (Date.now() > deadline) return reject(new Error(`no e-mail within ${timeoutMs} ms`));
      setTimeout(poll, 25);
    };
    poll();
  });
}

describe('a fax to the civil registry', () => {
  it('arrives in the department mailbox as a PDF with every page', async () => {
    // The directory routes the fax number to the department and its fax mailbox.
    const directoryApi = new directoryServiceV1.DirectoryServiceClient(
      `127.0.0.1:${directory.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const token = await TOKENS.token({
      subject: 'admin',
      tenantId: TENANT,
      role: 'admin',
    });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const document = {
      tenant: { tenantId: TENANT, name: 'Amt Kropp-Stapelholm', federalState: 'SH' },
      numbers: [{ number: FAX_NUMBER, kind: 'fax', entryPoint: { kind: 'fax-department', target: 'civil-registry' } }],
      departments: [{ departmentId: 'civil-registry', name: 'Standesamt', faxMailbox: 'standesamt@amt-kropp.example' }],
    };
    await new Promise((resolve, reject) =>
      directoryApi.importTenant(
        { tenantId: TENANT, document: JSON.stringify(document) },
        metadata,
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
    directoryApi.close();

    const tiff = path.join(tiffDir, 'marriage-certificate.tif');
    await writeFile(tiff, await sampleFaxTiff({ pages: 3, compression: 'g4', resolution: 'fine', seed: 7 }));
    sim.placeCall({ from: '+4940555555', to: FAX_NUMBER, fax: { tiff, pages: 3, stationId: '+49 40 555555' } });

    await waitForMail(1);
    const mail = smtp.messages[0]!;
    expect(mail.to).toMatchObject({ text: 'standesamt@amt-kropp.example' });
    const pdf = mail.attachments.find((attachment) => attachment.contentType === 'application/pdf');
    expect(pdf).toBeDefined();
    expect((await PDFDocument.load(pdf!.content)).getPageCount()).toBe(3);
  });
});
