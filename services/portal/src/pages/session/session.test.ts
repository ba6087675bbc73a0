import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPortal, TestBrowser } from '../../../test/harness.js';

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;

const MINUTE = 60_000;

beforeAll(async () => {
  mongo = await startMongo();
  portal = await startTestPortal({ mongoUrl: mongo.url, dbName: 'portal-session', signingKey: generateSigningKey() });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'admin', role: 'admin', departments: [], subject: 'admin' },
    { tenantId: 't-kropp', username: 'lang', role: 'finance', departments: [], subject: 'lang' },
  ]);
});

afterAll(async () => {
  await portal?.stop();
  await mongo?.stop();
});

const remainingOf = (html: string) => Number(/data-remaining-ms="(\d+)"/.exec(html)?.[1]);

describe('the session warning (WCAG 2.2.1: a time limit the user can extend)', () => {
  it('is on every signed-in page with the time left, and one action gives the idle time back', async () => {
    const browser = portal.browser('192.0.2.80');
    await browser.signIn('t-kropp', 'admin');
    const page = await (await browser.request('/')).text();
    expect(page).toContain('role="alertdialog"');
    expect(page).toContain('Ihre Sitzung läuft bald ab');
    expect(remainingOf(page)).toBe(30 * MINUTE);

    portal.clock.advance(29 * MINUTE);
    const extended = await browser.json(
      '/api/session/extend',
      'POST',
      {},
      { 'x-csrf-token': TestBrowser.csrfOf(page) },
    );
    expect(extended.status).toBe(200);
    expect(await extended.json()).toMatchObject({ remainingMs: 30 * MINUTE, final: false });
    // Without the extension the session would have ended a minute from now.
    portal.clock.advance(20 * MINUTE);
    expect((await browser.request('/')).status).toBe(200);
  });

  it('extends through the form without the script and returns to the page', async () => {
    const browser = portal.browser('192.0.2.81');
    await browser.signIn('t-kropp', 'admin');
    const page = await (await browser.request('/standorte')).text();
    const response = await browser.post('/sitzung/verlaengern', {
      _csrf: TestBrowser.csrfOf(page),
      next: '/standorte',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/standorte');
  });

  it('says when the 12-hour end cannot be pushed any further', async () => {
    const browser = portal.browser('192.0.2.82');
    await browser.signIn('t-kropp', 'lang');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/')).text());
    let last: { remainingMs: number; final: boolean } | undefined;
    for (let step = 1; step <= 28; step++) {
      portal.clock.advance(25 * MINUTE);
      last = (await (
        await browser.json('/api/session/extend', 'POST', {}, { 'x-csrf-token': csrf })
      ).json()) as typeof last;
    }
    // 11 h 40 min after sign-in: the idle end would pass the absolute end, which stays.
    expect(last).toEqual(expect.objectContaining({ remainingMs: 20 * MINUTE, final: true }));
    const page = await (await browser.request('/')).text();
    expect(remainingOf(page)).toBe(20 * MINUTE);
  });

  it('refuses an extension without a session or without the CSRF token', async () => {
    const stranger = portal.browser('192.0.2.83');
    expect((await stranger.json('/api/session/extend', 'POST', {})).status).toBe(401);
    const browser = portal.browser('192.0.2.84');
    await browser.signIn('t-kropp', 'admin');
    expect((await browser.json('/api/session/extend', 'POST', {})).status).toBe(403);
  });
});
