import { faxServiceV1, faxV1, type directoryServiceV1 } from '@switchboard/proto';
import {
  DIRECTORY_RPC_DEFINITION,
  directoryRpcClient,
  directoryRpcServeSubject,
  privacyEraseClient,
} from '@switchboard/rpc-clients';
import { createLogger, serveNatsRpc, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { startMongo, startNats, startSmtpSink, testTokens } from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAdapter, runFax, type Infrastructure } from '../test/harness.js';
import { FaxStore, type FaxRecord } from './fax-store.js';
import { UNDELIVERED } from './inbox-records.js';
import { FaxPrivacy } from './privacy.js';
import { RETENTION_LOG } from './retention.js';
import { VoicemailStore, type VoicemailRecord } from './voicemail-store.js';

const logger = createLogger({ service: 'fax-privacy-test', level: 'silent' });
const tenantId = 't-privacy';
const CITIZEN = '+494621234567';
const OTHER = '+4940987654';

let infrastructure: Infrastructure;
let fax: RunningService;
let nats: NatsHandle;
let client: MongoClient;
let db: Db;

const faxRecord = (id: string, receivedAt: string, callerNumber: string, remoteStationId: string): FaxRecord => ({
  _id: id,
  tenantId,
  callId: `call-${id}`,
  adapterId: 'adapter-1',
  dialedNumber: '+4946248009',
  callerNumber,
  remoteStationId,
  pages: 1,
  receptionResult: faxV1.FaxResult.FAX_RESULT_SUCCESS,
  receptionError: '',
  startedAt: null,
  endedAt: null,
  receivedAt: new Date(receivedAt),
  documentUri: '',
  status: faxServiceV1.FaxStatus.FAX_STATUS_DELIVERED,
  reasons: [],
  originalFileId: null,
  pdfFileId: `${id}:pdf`,
  departmentId: 'buergerbuero',
  ...UNDELIVERED,
});

const voicemailRecord = (id: string, receivedAt: string, callerNumber: string): VoicemailRecord => ({
  _id: id,
  tenantId,
  callId: `call-${id}`,
  adapterId: 'adapter-1',
  departmentId: 'standesamt',
  departmentName: 'Standesamt',
  dialedNumber: '+494624720',
  callerNumber,
  durationSeconds: 20,
  recordingError: '',
  startedAt: null,
  endedAt: null,
  receivedAt: new Date(receivedAt),
  audioUri: '',
  status: faxServiceV1.VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
  reasons: [],
  audioFileId: `${id}:audio`,
  audioBytes: 4,
  ...UNDELIVERED,
});

beforeAll(async () => {
  const [natsServer, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  infrastructure = { nats: natsServer, mongo, smtp, tokens: testTokens() };
  fax = await runFax(infrastructure, 'fax-privacy');
  nats = await connectAdapter(natsServer);
  // The directory's ExportTenant as the fax service asks it: this tenant keeps numbers for 30 days.
  serveNatsRpc(nats, {
    definition: { exportTenant: DIRECTORY_RPC_DEFINITION.exportTenant },
    handlers: {
      exportTenant: async (request: directoryServiceV1.ExportTenantRequest) => ({
        document: JSON.stringify({ tenant: { tenantId: request.tenantId, privacy: { retentionDays: 30 } } }),
      }),
    },
    subjectFor: directoryRpcServeSubject,
    logger,
  });
  client = await MongoClient.connect(mongo.url);
  db = client.db('fax-privacy');
  const faxes = new FaxStore(db);
  const old = faxRecord('fax-old', '2026-01-10T09:00:00Z', CITIZEN, '+49 4621 234567');
  await faxes.insertOnce(old);
  await faxes.putDocument(old, 'pdf', Buffer.from('%PDF-1.4'));
  const voicemails = new VoicemailStore(db);
  for (const voicemail of [
    voicemailRecord('vm-old', '2026-01-11T09:00:00Z', OTHER),
    voicemailRecord('vm-new', '2026-03-10T09:00:00Z', CITIZEN),
  ]) {
    await voicemails.insertOnce(voicemail);
    await voicemails.putAudio(voicemail, Buffer.from('RIFF'));
  }
  await db.collection(RETENTION_LOG).insertOne({
    _id: 'fax-gone' as never,
    tenantId,
    faxId: 'fax-gone',
    dialedNumber: '+4946248009',
    callerNumber: CITIZEN,
    pages: 2,
    status: faxServiceV1.FaxStatus.FAX_STATUS_DELIVERED,
    receivedAt: new Date('2025-09-01T09:00:00Z'),
    deletedAt: new Date('2025-12-01T00:00:00Z'),
    retentionDays: 90,
  });
});

afterAll(async () => {
  await nats?.connection.close();
  await client?.close();
  await fax?.shutdown('test over');
  await infrastructure?.smtp.stop();
  await infrastructure?.mongo.stop();
  await infrastructure?.nats.stop();
});

const numbers = async () => ({
  faxes: await db
    .collection('faxes')
    .find({}, { projection: { callerNumber: 1, remoteStationId: 1 } })
    .toArray(),
  faxFiles: (await db.collection('faxdocs.files').find().toArray()).map((file) => [
    file['metadata'].callerNumber,
    file['metadata'].remoteStationId,
  ]),
  voicemails: (await db.collection('voicemails').find().sort({ _id: 1 }).toArray()).map((v) => v['callerNumber']),
  voicemailFiles: (await db.collection('voicemailaudio.files').find().sort({ _id: 1 }).toArray()).map(
    (file) => file['metadata'].callerNumber,
  ),
  log: (await db.collection(RETENTION_LOG).find().toArray()).map((entry) => entry['callerNumber']),
});

describe('retention of callers in the inboxes', () => {
  const sweeper = () => new FaxPrivacy(db, new FaxStore(db), new VoicemailStore(db), directoryRpcClient(nats), logger);

  it("shortens what is older than the tenant's days in records, their files and the retention log", async () => {
    expect(await sweeper().sweep(new Date('2026-03-01T00:00:00Z'))).toBe(3);
    expect(await numbers()).toEqual({
      faxes: [{ _id: 'fax-old', callerNumber: '+494621234xxx', remoteStationId: '+49 4621 234xxx' }],
      faxFiles: [['+494621234xxx', '+49 4621 234xxx']],
      voicemails: [CITIZEN, '+4940987xxx'],
      voicemailFiles: [CITIZEN, '+4940987xxx'],
      log: ['+494621234xxx'],
    });
  });

  it('changes nothing when run again', async () => {
    expect(await sweeper().sweep(new Date('2026-03-01T00:00:00Z'))).toBe(0);
  });
});

describe('erase', () => {
  it('shortens the number in every inbox of the tenant, whatever its age, and says where', async () => {
    const erase = privacyEraseClient(nats, 'fax', 10_000);
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes).toEqual([
      { service: 'fax', kind: 'fax', count: '0' },
      { service: 'fax', kind: 'voicemail', count: '1' },
      { service: 'fax', kind: 'retention-log', count: '0' },
    ]);
    const after = await numbers();
    expect(after.voicemails).toEqual(['+494621234xxx', '+4940987xxx']);
    expect(after.voicemailFiles).toEqual(['+494621234xxx', '+4940987xxx']);
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes.map((change) => change.count)).toEqual([
      '0',
      '0',
      '0',
    ]);
  });
});
