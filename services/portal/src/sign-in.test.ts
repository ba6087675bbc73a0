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
    { tenantId: 't-kropp', username: 'idle', role: 'admin', departments: [], subject: 'idle' },
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

describe('lock-out and throttling', () => {
  it('locks an account for 15 minutes after 5 failures in a row, even for the right password, and logs it', async () => {
    const browser = portal.browser('192.0.2.30');
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await browser.signIn('t-kropp', 'locky', 'wrong')).status).toBe(401);
    }
    const fifth = await browser.signIn('t-kropp', 'locky', 'wrong');
    expect(await fifth.text()).toContain('bis 10:15 Uhr gesperrt');
    const right = await browser.json('/api/session', 'POST', {
      tenant: 't-kropp',
      username: 'locky',
      password: 'locky-pw',
    });
    expect(right.status).toBe(401);
    expect(await right.json()).toMatchObject({ error: 'locked' });
    portal.clock.advance(15 * 60_000);
    expect((await browser.signIn('t-kropp', 'locky')).status).toBe(303);
    const outcomes = await portal.db
      .collection('sign_ins')
      .find({ tenantId: 't-kropp', username: 'locky' }, { sort: { at: 1 } })
      .map((event) => `${event['outcome']}${event['lockedUntil'] ? ' (locks)' : ''}`)
      .toArray();
    expect(outcomes).toEqual([
      'bad-password',
      'bad-password',
      'bad-password',
      'bad-password',
      'bad-password (locks)',
      'locked',
      'ok',
    ]);
  });

  it('makes an address that keeps failing wait (429 with Retry-After), whichever accounts it tries', async () => {
    const browser = portal.browser('192.0.2.40');
    for (let attempt = 0; attempt < 8; attempt++) {
      const response = await browser.json('/api/session', 'POST', {
        tenant: 't-kropp',
        username: `guess-${attempt}`,
        password: 'x',
      });
      expect(response.status).toBe(401);
    }
    const blocked = await browser.json('/api/session', 'POST', {
      tenant: 't-kropp',
      username: 'admin',
      password: 'admin-pw',
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is not affected.
    const other = await portal
      .browser('192.0.2.41')
      .json('/api/session', 'POST', { tenant: 't-kropp', username: 'admin', password: 'admin-pw' });
    expect(other.status).toBe(200);
    portal.clock.advance(15 * 60_000 + 1);
    const later = await browser.json('/api/session', 'POST', {
      tenant: 't-kropp',
      username: 'admin',
      password: 'admin-pw',
    });
    expect(later.status).toBe(200);
  });
});

describe('sessions', () => {
  it('end after 30 idle minutes, and after 12 hours however busy', async () => {
    const browser = portal.browser('192.0.2.50');
    await browser.signIn('t-kropp', 'idle');
    portal.clock.advance(29 * 60_000);
    expect((await browser.request('/api/session')).status).toBe(200);
    portal.clock.advance(29 * 60_000);
    expect((await browser.request('/api/session')).status).toBe(200);
    portal.clock.advance(30 * 60_000);
    expect((await browser.request('/api/session')).status).toBe(401);
    // The expired session is gone from the database and the browser is told to drop the cookie.
    expect(browser.cookies.has('__Host-sb-session')).toBe(false);

    await browser.signIn('t-kropp', 'idle');
    for (let hour = 0; hour < 12 * 4; hour++) {
      portal.clock.advance(15 * 60_000);
      const status = (await browser.request('/api/session')).status;
      if (hour < 12 * 4 - 1) expect(status, `after ${(hour + 1) * 15} minutes`).toBe(200);
      else expect(status).toBe(401);
    }
  });

  it('stores only a hash of the cookie', async () => {
    const browser = portal.browser('192.0.2.51');
    await browser.signIn('t-kropp', 'idle');
    const cookie = browser.cookies.get('__Host-sb-session')!;
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await portal.db.collection('sessions').find({}).toArray();
    expect(stored.some((session) => JSON.stringify(session).includes(cookie))).toBe(false);
  });
});

describe('CSRF', () => {
  it('refuses a form post without the token, with a wrong one, or from another origin', async () => {
    const browser = portal.browser('192.0.2.60');
    await browser.signIn('t-kropp', 'admin', 'admin-pw');
    const html = await (await browser.request('/')).text();
    const token = TestBrowser.csrfOf(html);
    expect((await browser.post('/abmelden', {})).status).toBe(403);
    expect((await browser.post('/abmelden', { _csrf: `${token.slice(1)}x` })).status).toBe(403);
    const foreign = await browser.post('/abmelden', { _csrf: token }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain('Das Formular ist abgelaufen oder kam nicht von diesem Portal');
    expect((await browser.request('/api/session')).status).toBe(200);
    expect((await browser.post('/abmelden', { _csrf: token })).status).toBe(303);
  });

  it('refuses an API change without the X-CSRF-Token header, and the sign-in form without its cookie', async () => {
    const browser = portal.browser('192.0.2.61');
    const session = await browser.json('/api/session', 'POST', {
      tenant: 't-kropp',
      username: 'admin',
      password: 'admin-pw',
    });
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    expect((await browser.request('/api/session', { method: 'DELETE' })).status).toBe(403);
    expect(
      (await browser.request('/api/session', { method: 'DELETE', headers: { 'x-csrf-token': csrfToken } })).status,
    ).toBe(204);

    const fresh = portal.browser('192.0.2.62');
    const refused = await fresh.post('/anmelden', {
      _csrf: 'made-up',
      tenant: 't-kropp',
      username: 'admin',
      password: 'admin-pw',
    });
    expect(refused.status).toBe(403);
  });
});

describe('language', () => {
  it('is German by default and English after the switch, with the lang attribute', async () => {
    const browser = portal.browser('192.0.2.70');
    expect(await (await browser.request('/anmelden')).text()).toContain('<html lang="de">');
    const switched = await browser.request('/sprache/en?next=%2Fanmelden');
    expect(switched.headers.get('location')).toBe('/anmelden');
    const english = await (await browser.request('/anmelden')).text();
    expect(english).toContain('<html lang="en">');
    expect(english).toContain('<label for="field-username">Username');
    expect((await browser.request('/sprache/en?next=%2F%2Fevil.example')).headers.get('location')).toBe('/');
  });
});
