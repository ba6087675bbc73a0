import { directoryServiceV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, type TestBrowser } from '../../../test/harness.js';
import { auditRequest, berlinDayStart } from './index.js';

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let directory: Awaited<ReturnType<typeof startFakeService>>;
let browserFor: (address?: string) => TestBrowser;

const ENTRIES = [
  {
    entryId: 'e-2',
    tenantId: 't-kropp',
    at: new Date('2026-12-03T09:15:02Z'),
    subject: 'anna',
    role: 'admin',
    service: 'directory',
    method: 'UpdateDepartment',
    summary: '{"department":{"departmentId":"bauamt","ringTimeoutSeconds":25}}',
  },
  {
    entryId: 'e-1',
    tenantId: 't-kropp',
    at: new Date('2026-07-01T06:00:00Z'),
    subject: 'billing',
    role: 'service',
    service: 'billing',
    method: 'CloseMonth',
    summary: '{"month":"2026-06"}',
  },
];

beforeAll(async () => {
  mongo = await startMongo();
  directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    listAuditEntries: (request: directoryServiceV1.ListAuditEntriesRequest) => ({
      entries: request.pageToken ? [] : ENTRIES,
      nextPageToken: request.pageToken ? '' : 'page-2',
    }),
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-audit',
    signingKey: generateSigningKey(),
    addresses: { directory: directory.address },
  });
  browserFor = (address = '192.0.2.30') => portal.browser(address);
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 'fritz', role: 'finance', departments: [], subject: 'fritz' },
    { tenantId: 't-kropp', username: 's-101', role: 'agent', departments: [], subject: 's-101' },
  ]);
});

afterAll(async () => {
  directory?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = browserFor();
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

describe('audit: filters', () => {
  it("takes whole days on Berlin's clock, the end day included", () => {
    expect(berlinDayStart('2026-12-01')?.toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(berlinDayStart('2026-07-01')?.toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(berlinDayStart('2026-02-30')).toBeUndefined();
    expect(berlinDayStart('01.07.2026')).toBeUndefined();
    const { request, errors } = auditRequest('t-kropp', {
      since: '2026-03-29',
      until: '2026-03-29',
      service: 'ivr',
      subject: 'anna',
      pageToken: '',
    });
    expect(errors).toEqual({});
    // The day summer time starts has 23 hours.
    expect(request).toMatchObject({
      tenantId: 't-kropp',
      since: new Date('2026-03-28T23:00:00Z'),
      until: new Date('2026-03-29T22:00:00Z'),
      service: 'ivr',
      subject: 'anna',
      pageSize: 50,
    });
    expect(
      auditRequest('t-kropp', { since: '2026-05-02', until: '2026-05-01', service: 'Bad!', subject: '', pageToken: '' })
        .errors,
    ).toEqual({ until: 'untilBeforeSince', service: 'badService' });
  });
});

describe('audit page', () => {
  it("lists the tenant's changes newest first on Berlin's clock, with a link to older ones", async () => {
    const browser = await signedIn('anna');
    const before = directory.calls.length;
    const response = await browser.request('/protokoll');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h1');
    expect(html).toContain('<caption>Änderungen</caption>');
    expect(html).toContain('<time datetime="2026-12-03T09:15:02.000Z">03.12.2026, 10:15:02</time>');
    expect(html).toContain('anna (Administration)');
    expect(html).toContain('billing (service)');
    expect(html).toContain('directory / UpdateDepartment');
    expect(html).toContain('<a rel="next" href="/protokoll?pageToken=page-2">Ältere Einträge</a>');
    const call = directory.calls[before]!;
    expect(call.claims).toMatchObject({ sub: 'anna', role: 'admin', tid: 't-kropp' });
    expect(call.request).toMatchObject({ tenantId: 't-kropp', pageSize: 50, pageToken: '' });
  });

  it('passes the filter on and keeps it when paging', async () => {
    const browser = await signedIn('anna');
    const html = await (await browser.request('/protokoll?since=2026-07-01&until=2026-07-31&service=ivr')).text();
    expect(directory.calls.at(-1)!.request).toMatchObject({
      since: new Date('2026-06-30T22:00:00Z'),
      until: new Date('2026-07-31T22:00:00Z'),
      service: 'ivr',
    });
    expect(html).toContain(
      'href="/protokoll?since=2026-07-01&amp;until=2026-07-31&amp;service=ivr&amp;pageToken=page-2"',
    );
    const second = await (await browser.request('/protokoll?service=ivr&pageToken=page-2')).text();
    expect(directory.calls.at(-1)!.request).toMatchObject({ service: 'ivr', pageToken: 'page-2' });
    expect(second).toContain('Keine Einträge für diese Auswahl.');
    expect(second).toContain('<a href="/protokoll?service=ivr">Zu den neuesten Einträgen</a>');
  });

  it('shows a bad filter next to its field, linked from the summary, and asks nothing', async () => {
    const browser = await signedIn('anna');
    const before = directory.calls.length;
    const response = await browser.request('/protokoll?since=01.07.2026');
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain('<a href="#field-since">Von (Tag): Bitte ein Datum im Format JJJJ-MM-TT eingeben.</a>');
    expect(html).toMatch(
      /<input id="field-since"[^>]*aria-invalid="true"[^>]*aria-describedby="field-since-hint field-since-error"/,
    );
    expect(directory.calls.length).toBe(before);
    const json = await browser.request('/api/audit?until=morgen');
    expect(json.status).toBe(422);
    expect(await json.json()).toEqual({
      error: 'invalid filter',
      fields: { until: 'Bitte ein Datum im Format JJJJ-MM-TT eingeben.' },
    });
  });

  it('answers the same data as JSON under /api/audit', async () => {
    const browser = await signedIn('anna');
    const response = await browser.request('/api/audit');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      entries: ENTRIES.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
      nextPageToken: 'page-2',
    });
  });

  it('is refused to department leads, finance and agents, page and API alike, before any service is asked', async () => {
    const before = directory.calls.length;
    for (const username of ['sue', 'fritz', 's-101']) {
      const browser = await signedIn(username);
      expect((await browser.request('/protokoll')).status).toBe(403);
      expect((await browser.request('/api/audit')).status).toBe(403);
      expect(await (await browser.request('/')).text()).not.toContain('href="/protokoll"');
    }
    expect(directory.calls.length).toBe(before);
  });

  it('speaks English when chosen', async () => {
    const browser = await signedIn('anna');
    browser.cookies.set('sb-lang', 'en');
    const html = await (await browser.request('/protokoll')).text();
    expect(html).toContain('<caption>Changes</caption>');
    expect(html).toContain('3 Dec 2026, 10:15:02');
    expect(html).toContain('anna (administrator)');
  });
});
