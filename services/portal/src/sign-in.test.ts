import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPortal, TestBrowser } from '../test/harness.js';

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;

beforeAll(async () => {
  mongo = await startMongo();
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-sign-in',
    signingKey: generateSigningKey(),
    ipFailures: 8,
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'admin', role: 'admin', departments: [], subject: 'admin' },
    { tenantId: 't-kropp', username: 'locky', role: 'admin', departments: [], subject: 'locky' },
  ]);
});

afterAll(async () => {
  await portal?.stop();
  await mongo?.stop();
});

describe('sign-in with a local account', () => {
  it('signs in through the form, shows the start page, signs out and the session is gone', async () => {
    const browser = portal.browser();
    expect((await browser.request('/')).headers.get('location')).toBe('/anmelden?next=%2F');
    const signedIn = await browser.signIn('t-kropp', 'Admin', 'admin-pw');
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/');
    const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('__Host-sb-session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    const home = await browser.request('/');
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('Angemeldet als admin (Administration)');
    const signedOut = await browser.post('/abmelden', { _csrf: TestBrowser.csrfOf(html) });
    expect(signedOut.headers.get('location')).toBe('/anmelden');
    expect((await browser.request('/')).status).toBe(303);
  });

  it('refuses a wrong password and an unknown account alike', async () => {
    const browser = portal.browser('192.0.2.20');
    const wrong = await browser.signIn('t-kropp', 'admin', 'nope');
    const unknown = await browser.signIn('t-kropp', 'nobody', 'nope');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.text()).toContain('Anmeldung fehlgeschlagen');
    expect(await unknown.text()).toContain('Anmeldung fehlgeschlagen');
  });
});
