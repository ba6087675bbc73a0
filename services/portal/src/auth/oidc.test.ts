import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, startTestPortal } from '../../test/harness.js';
import { mapClaims } from './oidc.js';

// The authorization code flow with PKCE against a real OpenID provider (panva's oidc-provider,
// in this process, its development login form standing in for the tenant's login page).

const PEOPLE: Record<string, Record<string, unknown>> = {
  'anke.admin': { roles: ['sb-admin', 'staff'] },
  'jens.lead': { roles: ['sb-lead'], depts: ['meldeamt'] },
  'maren.nobody': { roles: ['staff'] },
};

let mongo: MongoServer;
let idp: Server;
let issuer: string;
let portal: Awaited<ReturnType<typeof startTestPortal>>;

beforeAll(async () => {
  mongo = await startMongo();
  idp = createServer();
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'switchboard-portal',
        client_secret: 'portal-secret',
        redirect_uris: [`${ORIGIN}/anmelden/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    cookies: { keys: ['test-cookie-key'] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'roles', 'depts'] },
    findAccount: (_ctx, id) =>
      PEOPLE[id] ? { accountId: id, claims: () => ({ sub: id, preferred_username: id, ...PEOPLE[id] }) } : undefined,
    // The tenant's provider has consented for the portal already: no consent screen.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid profile');
      await grant.save();
      return grant;
    },
  });
  idp.on('request', provider.callback());
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal_oidc',
    signingKey: generateSigningKey(),
    oidcProviders: [
      {
        tenant: 't-nord',
        issuer,
        clientId: 'switchboard-portal',
        clientSecret: 'portal-secret',
        roleClaim: 'roles',
        roleMap: { 'sb-admin': 'admin', 'sb-lead': 'supervisor' },
        departmentsClaim: 'depts',
        subjectClaim: 'preferred_username',
        insecureHttp: true,
      },
    ],
  });
});

afterAll(async () => {
  await portal?.stop();
  idp?.closeAllConnections();
  await new Promise((resolve) => idp?.close(resolve));
  await mongo?.stop();
});

/** The provider's side of the flow as a browser walks it: its login form, then back to the portal. */
async function throughProvider(authorizationUrl: string, login: string): Promise<URL> {
  const jar = new Map<string, string>();
  const go = async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      jar.set(name!, value.join('='));
    }
    return response;
  };
  let response = await go(authorizationUrl);
  for (let step = 0; step < 10; step++) {
    const location = response.headers.get('location');
    if (location?.startsWith(ORIGIN)) return new URL(location);
    if (location) {
      response = await go(new URL(location, issuer).toString());
      continue;
    }
    const page = await response.text();
    const action = /action="([^"]+)"/.exec(page)?.[1];
    if (!action) throw new Error(`provider page without a form: ${page.slice(0, 300)}`);
    response = await go(new URL(action, issuer).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString(),
    });
  }
  throw new Error('the provider did not send the browser back');
}

describe('sign-in through a tenant identity provider', () => {
  it('maps the provider’s roles and departments; the session acts for that tenant only', async () => {
    const browser = portal.browser('192.0.2.80');
    const page = await (await browser.request('/anmelden')).text();
    expect(page).toContain('<label for="field-oidcTenant">');
    const start = await browser.request('/anmelden/oidc?oidcTenant=t-nord&next=%2Fabteilungen');
    expect(start.status).toBe(303);
    const authorization = new URL(start.headers.get('location')!);
    expect(authorization.origin).toBe(issuer);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(start.headers.getSetCookie().find((c) => c.startsWith('__Host-sb-oidc='))).toMatch(/SameSite=Lax/);

    const callback = await throughProvider(authorization.toString(), 'jens.lead');
    const back = await browser.request(callback.pathname + callback.search);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/abteilungen');
    const session = (await (await browser.request('/api/session')).json()) as Record<string, unknown>;
    expect(session).toMatchObject({
      user: { tenantId: 't-nord', username: 'jens.lead', role: 'supervisor', departments: ['meldeamt'] },
      actingTenant: 't-nord',
    });

    // The same callback again (a replayed code or flow) signs no one in.
    const replay = portal.browser('192.0.2.81');
    expect((await replay.request(callback.pathname + callback.search)).status).toBe(401);
  });

  it('refuses a person whose claims map to no role, and a tenant without a provider', async () => {
    const browser = portal.browser('192.0.2.82');
    const start = await browser.request('/anmelden/oidc?oidcTenant=t-nord');
    const callback = await throughProvider(start.headers.get('location')!, 'maren.nobody');
    const refused = await browser.request(callback.pathname + callback.search);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('no role: roles holds none of sb-admin, sb-lead');
    expect((await browser.request('/api/session')).status).toBe(401);
    expect((await browser.request('/anmelden/oidc?oidcTenant=t-sued')).status).toBe(401);
  });

  it('never grants operator or service, whatever the mapping says', () => {
    const settings = {
      tenant: 't-nord',
      issuer,
      clientId: 'c',
      clientSecret: 's',
      roleClaim: 'realm_access.roles',
      roleMap: { 'sb-admin': 'admin' as const, 'sb-agent': 'agent' as const },
      departmentsClaim: 'depts',
      subjectClaim: 'preferred_username',
      insecureHttp: false,
    };
    expect(mapClaims(settings, { preferred_username: 'S-7', realm_access: { roles: ['sb-agent'] } })).toMatchObject({
      tenantId: 't-nord',
      role: 'agent',
      subject: 'S-7',
    });
    expect(() => mapClaims(settings, { preferred_username: 'x', realm_access: { roles: ['operator'] } })).toThrow(
      /no role/,
    );
  });
});
