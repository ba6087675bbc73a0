import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1, directoryV1, faxServiceV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, TestBrowser } from '../../../test/harness.js';
import { filterOf } from './index.js';

const { FaxStatus, VoicemailStatus } = faxServiceV1;
const PDF = Buffer.from('%PDF-1.4 fake fax document');
const WAV = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(2_000, 7)]);

const FAXES = [
  faxServiceV1.Fax.fromPartial({
    faxId: 'fax-2',
    tenantId: 't-kropp',
    callerNumber: '+4946241234',
    departmentId: 'bauamt',
    pages: 3,
    receivedAt: new Date('2026-12-03T08:05:00Z'),
    status: FaxStatus.FAX_STATUS_DELIVERED,
    hasPdf: true,
  }),
  faxServiceV1.Fax.fromPartial({
    faxId: 'fax-1',
    tenantId: 't-kropp',
    remoteStationId: 'STATION 7',
    departmentId: 'buergerbuero',
    pages: 0,
    receivedAt: new Date('2026-12-02T15:00:00Z'),
    status: FaxStatus.FAX_STATUS_NO_DOCUMENT,
    handledAt: new Date('2026-12-02T16:00:00Z'),
    handledBy: 'anna',
  }),
];
const VOICEMAILS = [
  faxServiceV1.Voicemail.fromPartial({
    voicemailId: 'vm-1',
    tenantId: 't-kropp',
    departmentId: 'bauamt',
    callerNumber: '+4946249999',
    durationSeconds: 75,
    receivedAt: new Date('2026-12-03T07:30:00Z'),
    status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
    hasAudio: true,
    audioBytes: String(WAV.length),
  }),
];

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let fax: Awaited<ReturnType<typeof startFakeService>>;
let directory: Awaited<ReturnType<typeof startFakeService>>;

/**
 * The fax service's department scope as its policy has it: a supervisor's list is of their
 * departments (another department named is refused), a record of another department is refused.
 */
function scoped(request: object): { departments: string[] | undefined } {
  const { claims } = fax.calls.findLast((call) => call.request === request)!;
  return { departments: claims.role === 'supervisor' ? (claims.depts ?? []) : undefined };
}
function listed<R extends { departmentId: string }>(request: { departmentId: string }, records: R[]): R[] {
  const { departments } = scoped(request);
  if (departments && request.departmentId && !departments.includes(request.departmentId))
    throw grpcError(grpc.status.PERMISSION_DENIED, `supervisor may not list ${request.departmentId}`);
  const wanted = request.departmentId ? [request.departmentId] : departments;
  return records.filter((record) => !wanted || wanted.includes(record.departmentId));
}
function ownRecord(request: object, record: { departmentId: string } | undefined): void {
  const { departments } = scoped(request);
  if (departments && !departments.includes(record?.departmentId ?? ''))
    throw grpcError(grpc.status.PERMISSION_DENIED, 'supervisor may call this only in scope fax of own departments');
}
const faxOf = (request: { faxId: string }) => FAXES.find((entry) => entry.faxId === request.faxId);

beforeAll(async () => {
  mongo = await startMongo();
  fax = await startFakeService(faxServiceV1.FaxServiceService, {
    listFaxes: (request: faxServiceV1.ListFaxesRequest) => ({
      faxes: listed(request, request.unhandledOnly ? FAXES.filter((entry) => !entry.handledAt) : FAXES),
      nextPageToken: request.pageToken ? '' : 'older-faxes',
    }),
    listVoicemails: (request: faxServiceV1.ListVoicemailsRequest) => ({
      voicemails: listed(request, VOICEMAILS),
      nextPageToken: '',
    }),
    downloadFax: (request: faxServiceV1.DownloadFaxRequest) => {
      ownRecord(request, faxOf(request));
      if (request.faxId !== 'fax-2') throw grpcError(grpc.status.NOT_FOUND, `fax ${request.faxId} not found`);
      return [
        {
          fileName: 'fax-2.pdf',
          contentType: 'application/pdf',
          totalBytes: String(PDF.length),
          chunk: PDF.subarray(0, 10),
        },
        { fileName: '', contentType: '', totalBytes: '0', chunk: PDF.subarray(10) },
      ];
    },
    downloadVoicemail: () => [
      { fileName: 'vm-1.wav', contentType: 'audio/wav', totalBytes: String(WAV.length), chunk: WAV.subarray(0, 1_000) },
      { fileName: '', contentType: '', totalBytes: '0', chunk: WAV.subarray(1_000) },
    ],
    markFaxHandled: (request: faxServiceV1.MarkFaxHandledRequest) => {
      ownRecord(request, faxOf(request));
      return { fax: { ...faxOf(request)!, handledBy: 'anna' } };
    },
    markVoicemailHandled: (request: faxServiceV1.MarkVoicemailHandledRequest) => ({
      voicemail: { ...VOICEMAILS.find((entry) => entry.voicemailId === request.voicemailId)!, handledBy: 'anna' },
    }),
  });
  directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    listDepartments: () => ({
      departments: [
        directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt' }),
        directoryV1.Department.fromPartial({ departmentId: 'buergerbuero', name: 'Bürgerbüro' }),
      ],
    }),
    // What a supervisor's department chooser is built from (they may not list all departments).
    getDepartment: (request: directoryServiceV1.GetDepartmentRequest) => {
      if (request.departmentId !== 'bauamt') throw grpcError(grpc.status.PERMISSION_DENIED, 'not theirs');
      return { department: directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt' }) };
    },
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-inbox',
    signingKey: generateSigningKey(),
    addresses: { fax: fax.address, directory: directory.address },
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 'fritz', role: 'finance', departments: [], subject: 'fritz' },
    { tenantId: 't-kropp', username: 's-101', role: 'agent', departments: [], subject: 's-101' },
  ]);
});

afterAll(async () => {
  fax?.close();
  directory?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = portal.browser('192.0.2.60');
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

const callsOf = (method: string) => fax.calls.filter((call) => call.method === method);

describe('inbox: filter', () => {
  it('shows open ones unless offen=0, all departments unless one is chosen', () => {
    const query = (values: Record<string, string>) => (name: string) => values[name];
    expect(filterOf(query({}))).toEqual({ departmentId: '', openOnly: true, faxPage: '', voicemailPage: '' });
    expect(filterOf(query({ offen: '0', abteilung: 'bauamt', faxSeite: 'x' }))).toEqual({
      departmentId: 'bauamt',
      openOnly: false,
      faxPage: 'x',
      voicemailPage: '',
    });
  });
});

describe('inbox page', () => {
  it('lists faxes and voicemail with a PDF link, an audio player and a mark-handled button each', async () => {
    const browser = await signedIn('anna');
    const response = await browser.request('/posteingang?offen=0');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h2 id="faxe">Faxe</h2>');
    expect(html).toContain(
      '<a href="/posteingang/faxe/fax-2/pdf" aria-label="PDF des Faxes von +4946241234 vom 03.12.2026, 09:05 ansehen">PDF ansehen</a>',
    );
    expect(html).toContain('<td>Bauamt</td>');
    expect(html).toContain('per E-Mail zugestellt');
    expect(html).toContain('02.12.2026, 17:00 von anna');
    expect(html).toContain('<td>STATION 7</td>');
    expect(html).toContain('kein Dokument');
    expect(html).toContain(
      '<audio controls="" preload="none" src="/posteingang/sprachnachrichten/vm-1/audio" aria-label="Sprachnachricht von +4946249999 vom 03.12.2026, 08:30"></audio>',
    );
    expect(html).toContain('<td>1:15</td>');
    expect(html).toContain('aria-label="Als erledigt markieren: Fax von +4946241234 vom 03.12.2026, 09:05"');
    expect(html).toContain('<a href="/posteingang?offen=0&amp;faxSeite=older-faxes#faxe">Weitere ältere Einträge</a>');
    expect(callsOf('listFaxes').at(-1)!.request).toMatchObject({
      tenantId: 't-kropp',
      unhandledOnly: false,
      pageSize: 100,
    });
    expect(callsOf('listFaxes').at(-1)!.claims).toMatchObject({ sub: 'anna', role: 'admin', tid: 't-kropp' });
  });

  it('shows only the chosen department and, by default, only open ones', async () => {
    const browser = await signedIn('anna');
    const html = await (await browser.request('/posteingang?abteilung=buergerbuero')).text();
    expect(callsOf('listFaxes').at(-1)!.request).toMatchObject({ unhandledOnly: true });
    expect(html).toContain('Keine Faxe für diese Auswahl.');
    expect(html).toContain('Keine Sprachnachrichten für diese Auswahl.');
    expect(html).toContain('<option value="buergerbuero" selected="">Bürgerbüro</option>');
    // The form's box checked sends offen=1 before its hidden offen=0.
    await browser.request('/posteingang?abteilung=&offen=1&offen=0');
    expect(callsOf('listFaxes').at(-1)!.request).toMatchObject({ unhandledOnly: true });
    await browser.request('/posteingang?abteilung=&offen=0');
    expect(callsOf('listFaxes').at(-1)!.request).toMatchObject({ unhandledOnly: false });
  });

  it("streams a fax's PDF and a voicemail's audio from the fax service", async () => {
    const browser = await signedIn('anna');
    const pdf = await browser.request('/posteingang/faxe/fax-2/pdf');
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toBe('inline; filename="fax-2.pdf"');
    expect(Buffer.from(await pdf.arrayBuffer())).toEqual(PDF);
    expect(callsOf('downloadFax').at(-1)!.request).toMatchObject({
      tenantId: 't-kropp',
      faxId: 'fax-2',
      format: faxServiceV1.DocumentFormat.DOCUMENT_FORMAT_PDF,
    });
    const audio = await browser.request('/posteingang/sprachnachrichten/vm-1/audio');
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    expect(audio.headers.get('content-length')).toBe(String(WAV.length));
    expect(Buffer.from(await audio.arrayBuffer())).toEqual(WAV);
    expect((await browser.request('/posteingang/faxe/fax-9/pdf')).status).toBe(404);
  });

  it('marks a fax and a voicemail handled and returns to the same selection', async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/posteingang')).text());
    const marked = await browser.post('/posteingang/faxe/fax-2/erledigt', {
      _csrf: csrf,
      next: '/posteingang?abteilung=bauamt',
    });
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe('/posteingang?abteilung=bauamt&erledigt=1');
    expect(callsOf('markFaxHandled').at(-1)!.request).toEqual({ tenantId: 't-kropp', faxId: 'fax-2' });
    const elsewhere = await browser.post('/posteingang/sprachnachrichten/vm-1/erledigt', {
      _csrf: csrf,
      next: 'https://example.org/',
    });
    expect(elsewhere.headers.get('location')).toBe('/posteingang?erledigt=1');
    expect(callsOf('markVoicemailHandled').at(-1)!.request).toEqual({ tenantId: 't-kropp', voicemailId: 'vm-1' });
    expect(await (await browser.request('/posteingang?erledigt=1')).text()).toContain('Als erledigt markiert.');
  });

  it('answers the same under /api/inbox', async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/posteingang')).text());
    const listed = (await (await browser.request('/api/inbox?offen=0&abteilung=bauamt')).json()) as {
      faxes: Array<{ faxId: string }>;
      voicemails: Array<{ voicemailId: string }>;
      nextFaxPage: string;
    };
    expect(listed.faxes.map((entry) => entry.faxId)).toEqual(['fax-2']);
    expect(listed.voicemails.map((entry) => entry.voicemailId)).toEqual(['vm-1']);
    expect(listed.nextFaxPage).toBe('older-faxes');
    const marked = await browser.json('/api/inbox/voicemails/vm-1/handled', 'POST', {}, { 'x-csrf-token': csrf });
    expect(await marked.json()).toMatchObject({ voicemail: { voicemailId: 'vm-1', handledBy: 'anna' } });
  });

  it("shows a department lead only their departments' records and chooser, the page and /api alike", async () => {
    const browser = await signedIn('sue');
    const html = await (await browser.request('/posteingang?offen=0')).text();
    expect(callsOf('listFaxes').at(-1)).toMatchObject({
      request: { departmentId: '' },
      claims: { sub: 'sue', role: 'supervisor', depts: ['bauamt'] },
    });
    expect(html).toContain('/posteingang/faxe/fax-2/pdf');
    expect(html).toContain('/posteingang/sprachnachrichten/vm-1/audio');
    expect(html).not.toContain('STATION 7');
    expect(html).toContain('<option value="bauamt">Bauamt</option>');
    expect(html).not.toContain('Bürgerbüro');

    const listed = (await (await browser.request('/api/inbox?offen=0')).json()) as {
      faxes: Array<{ faxId: string }>;
      voicemails: Array<{ voicemailId: string }>;
    };
    expect(listed.faxes.map((entry) => entry.faxId)).toEqual(['fax-2']);
    expect(listed.voicemails.map((entry) => entry.voicemailId)).toEqual(['vm-1']);
    const own = (await (await browser.request('/api/inbox?offen=0&abteilung=bauamt')).json()) as typeof listed;
    expect(own.faxes.map((entry) => entry.faxId)).toEqual(['fax-2']);
  });

  it("refuses a department lead another department's list and records, through the page and /api", async () => {
    const browser = await signedIn('sue');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/posteingang')).text());
    const lists = fax.calls.length;
    // Another department in the filter: refused by the portal before the fax service is asked.
    expect((await browser.request('/posteingang?abteilung=buergerbuero')).status).toBe(403);
    expect((await browser.request('/api/inbox?abteilung=buergerbuero')).status).toBe(403);
    expect(fax.calls.length).toBe(lists);
    // A record of another department by id: the fax service refuses it, the portal answers 403.
    expect((await browser.request('/posteingang/faxe/fax-1/pdf')).status).toBe(403);
    const marked = await browser.post('/posteingang/faxe/fax-1/erledigt', { _csrf: csrf, next: '/posteingang' });
    expect(marked.status).toBe(403);
    const api = await browser.json('/api/inbox/faxes/fax-1/handled', 'POST', {}, { 'x-csrf-token': csrf });
    expect(api.status).toBe(403);
    expect(callsOf('markFaxHandled').slice(-2)).toMatchObject([
      { request: { faxId: 'fax-1' }, claims: { sub: 'sue' } },
      { request: { faxId: 'fax-1' }, claims: { sub: 'sue' } },
    ]);
  });

  it('is refused to finance and agents before any service is asked', async () => {
    const before = fax.calls.length;
    for (const username of ['fritz', 's-101']) {
      const browser = await signedIn(username);
      expect((await browser.request('/posteingang')).status).toBe(403);
      expect((await browser.request('/posteingang/faxe/fax-2/pdf')).status).toBe(403);
      expect((await browser.request('/api/inbox')).status).toBe(403);
    }
    expect(fax.calls.length).toBe(before);
  });
});
