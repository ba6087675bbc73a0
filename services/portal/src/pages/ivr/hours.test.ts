import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, TestBrowser } from '../../../test/harness.js';
import { translator } from '../../i18n.js';
import { hoursMessages } from './hours-messages.js';
import { fieldOfRefusal, hoursText } from './hours.js';

const { Weekday } = directoryV1;
let tenant = directoryV1.Tenant.fromPartial({
  tenantId: 't-kropp',
  name: 'Amt Kropp-Stapelholm',
  federalState: 'SH',
  closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true }],
});
let site = directoryV1.Site.fromPartial({
  siteId: 'amt-kropp',
  name: 'Amtsgebäude Kropp',
  openingHours: [
    { day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' },
    { day: Weekday.WEEKDAY_MONDAY, from: '14:00', to: '16:00' },
    { day: Weekday.WEEKDAY_FRIDAY, from: '08:00', to: '12:00' },
  ],
});
/** What the fake directory answers the next update with (a refusal when set). */
let refuseNext: Error | undefined;
const refusal = () => {
  const error = refuseNext;
  refuseNext = undefined;
  if (error) throw error;
};

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let directory: Awaited<ReturnType<typeof startFakeService>>;

beforeAll(async () => {
  mongo = await startMongo();
  directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    getTenant: () => ({ tenant }),
    listSites: () => ({ sites: [site] }),
    getSite: () => ({ site }),
    updateTenant: (request: directoryServiceV1.UpdateTenantRequest) => {
      refusal();
      tenant = request.tenant!;
      return { tenant };
    },
    updateSite: (request: directoryServiceV1.UpdateSiteRequest) => {
      refusal();
      site = request.site!;
      return { site };
    },
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-hours',
    signingKey: generateSigningKey(),
    addresses: { directory: directory.address },
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 's-101', role: 'agent', departments: [], subject: 's-101' },
  ]);
});

afterAll(async () => {
  directory?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = portal.browser('192.0.2.70');
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

describe('opening hours: text', () => {
  it('writes weekly hours per day and finds the field a refusal names', () => {
    expect(hoursText(translator(hoursMessages, 'de'), site.openingHours)).toBe(
      'Mo 08:00–12:00, 14:00–16:00; Fr 08:00–12:00',
    );
    expect(fieldOfRefusal('tenant.closingDays[1].until: must not be before date')).toBe('until');
    expect(fieldOfRefusal('site.closingDays[0].date: must be a date YYYY-MM-DD')).toBe('date');
    expect(fieldOfRefusal('tenant.federalState: must be a German federal state code such as SH')).toBe('federalState');
  });
});

describe('opening hours page', () => {
  it("shows the federal state, the tenant's closing days and every site's hours", async () => {
    const browser = await signedIn('anna');
    const html = await (await browser.request('/oeffnungszeiten')).text();
    expect(html).toContain('<option value="SH" selected="">Schleswig-Holstein</option>');
    expect(html).toContain('2026-12-24 Heiligabend (jährlich)');
    expect(html).toContain('aria-label="Schließtag 2026-12-24 (alle Standorte) entfernen"');
    expect(html).toContain('<th scope="row">Amtsgebäude Kropp</th>');
    expect(html).toContain('Mo 08:00–12:00, 14:00–16:00; Fr 08:00–12:00');
  });

  it('changes the federal state and adds and removes closing days of the tenant and of a site', async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/oeffnungszeiten')).text());
    expect((await browser.post('/oeffnungszeiten/bundesland', { _csrf: csrf, federalState: 'HH' })).status).toBe(303);
    expect(tenant.federalState).toBe('HH');
    expect(tenant.closingDays).toHaveLength(1);

    const added = await browser.post('/oeffnungszeiten/schliesstage', {
      _csrf: csrf,
      scope: 'site:amt-kropp',
      date: '2027-06-11',
      until: '2027-06-12',
      reason: 'Betriebsausflug',
    });
    expect(added.headers.get('location')).toBe('/oeffnungszeiten?gespeichert=1#schliesstage');
    expect(site.closingDays).toEqual([
      { date: '2027-06-11', until: '2027-06-12', reason: 'Betriebsausflug', yearly: false },
    ]);
    expect(site.openingHours).toHaveLength(3);

    await browser.post('/oeffnungszeiten/schliesstage', {
      _csrf: csrf,
      scope: 'tenant',
      date: '2026-12-31',
      yearly: 'on',
    });
    expect(tenant.closingDays.map((day) => [day.date, day.yearly])).toEqual([
      ['2026-12-24', true],
      ['2026-12-31', true],
    ]);
    // A stale index (the day at it is another one now) removes nothing.
    const stale = await browser.post('/oeffnungszeiten/schliesstage/entfernen', {
      _csrf: csrf,
      scope: 'tenant',
      index: '0',
      date: '2026-12-31',
    });
    expect(stale.status).toBe(422);
    expect(tenant.closingDays).toHaveLength(2);
    await browser.post('/oeffnungszeiten/schliesstage/entfernen', {
      _csrf: csrf,
      scope: 'tenant',
      index: '1',
      date: '2026-12-31',
    });
    expect(tenant.closingDays.map((day) => day.date)).toEqual(['2026-12-24']);
    expect(directory.calls.at(-1)!.claims).toMatchObject({ sub: 'anna', role: 'admin' });
  });

  it("shows the directory's refusal beside the field it names and keeps the input", async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/oeffnungszeiten')).text());
    refuseNext = grpcError(grpc.status.INVALID_ARGUMENT, 'tenant.closingDays[1].until: must not be before date');
    const response = await browser.post('/oeffnungszeiten/schliesstage', {
      _csrf: csrf,
      scope: 'tenant',
      date: '2027-01-10',
      until: '2027-01-01',
    });
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain(
      '<a href="#field-until">Bis (letzter Tag, optional): tenant.closingDays[1].until: must not be before date</a>',
    );
    expect(html).toMatch(/<input id="field-until" name="until" type="text" value="2027-01-01" aria-invalid="true"/);
    expect(tenant.closingDays).toHaveLength(1);
  });

  it('answers under /api/opening-hours; department leads and agents are refused', async () => {
    const browser = await signedIn('anna');
    expect(await (await browser.request('/api/opening-hours')).json()).toMatchObject({
      federalState: 'HH',
      sites: [{ siteId: 'amt-kropp', openingHours: [{ day: 'WEEKDAY_MONDAY', from: '08:00', to: '12:00' }, {}, {}] }],
    });
    const csrf = TestBrowser.csrfOf(await (await browser.request('/oeffnungszeiten')).text());
    const added = await browser.json(
      '/api/opening-hours/closing-days',
      'POST',
      { date: '2027-05-14', reason: 'Brückentag' },
      { 'x-csrf-token': csrf },
    );
    expect(await added.json()).toEqual({ added: true });
    expect(tenant.closingDays.at(-1)).toEqual({ date: '2027-05-14', until: '', reason: 'Brückentag', yearly: false });
    const before = directory.calls.length;
    for (const username of ['sue', 's-101']) {
      const other = await signedIn(username);
      expect((await other.request('/oeffnungszeiten')).status).toBe(403);
      expect((await other.request('/api/opening-hours')).status).toBe(403);
    }
    expect(directory.calls.length).toBe(before);
  });
});
