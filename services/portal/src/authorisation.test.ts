import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1 } from '@switchboard/proto';
import { spawnService, type ServiceProcess } from '@switchboard/stack';
import { eventually, startMongo, startNats, testTokens, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGES } from './pages/index.js';
import { startTestPortal, type TestBrowser } from '../test/harness.js';

// The route table and the pages' own checks against the real directory and presence (processes
// from their dist), over the JSON API as a browser-less caller would use it.

const TOKENS = testTokens();

const tenant = (tenantId: string, name: string) => ({
  tenant: { tenantId, name, federalState: 'SH' },
  sites: [
    {
      siteId: 'rathaus',
      name: `Rathaus ${name}`,
      kind: 'town-hall',
      address: { street: 'Dorfstraße 1', postalCode: '24848', city: name },
      headcount: 3,
    },
  ],
  departments: [
    {
      departmentId: 'meldeamt',
      name: 'Meldeamt',
      siteId: 'rathaus',
      members: [{ staffId: 's-1' }, { staffId: 's-2' }],
    },
    { departmentId: 'standesamt', name: 'Standesamt', siteId: 'rathaus', members: [{ staffId: 's-3' }] },
  ],
  staff: [
    { staffId: 's-1', displayName: 'Anke Hansen', extension: '11', devices: [`${tenantId}-11`], siteId: 'rathaus' },
    { staffId: 's-2', displayName: 'Jens Thomsen', extension: '12', devices: [`${tenantId}-12`], siteId: 'rathaus' },
    { staffId: 's-3', displayName: 'Maren Jessen', extension: '13', devices: [`${tenantId}-13`], siteId: 'rathaus' },
  ],
});

let nats: NatsServer;
let mongo: MongoServer;
const processes: ServiceProcess[] = [];
let portal: Awaited<ReturnType<typeof startTestPortal>>;

const serviceEnv = (name: string, db: string) => ({
  ...nats.env(name),
  ...TOKENS.env,
  MONGO_URL: mongo.url,
  MONGO_DB: db,
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  LOG_LEVEL: 'info',
  SHUTDOWN_TIMEOUT_MS: '5000',
});

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const logDir = await mkdtemp(path.join(tmpdir(), 'sb-portal-authz-'));
  const directory = await spawnService({
    name: 'directory',
    replica: 0,
    env: { ...serviceEnv('directory', 'portal_authz_directory'), DEVICE_SECRET_KEY: '3c'.repeat(32) },
    logDir,
    readyTimeoutMs: 60_000,
  });
  processes.push(directory);
  const presence = await spawnService({
    name: 'presence',
    replica: 0,
    env: serviceEnv('presence', 'portal_authz_presence'),
    logDir,
    readyTimeoutMs: 60_000,
  });
  processes.push(presence);

  const client = new directoryServiceV1.DirectoryServiceClient(
    `127.0.0.1:${directory.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await TOKENS.token({ subject: 'setup', tenantId: '*', role: 'operator' })}`);
  for (const [tenantId, name] of [
    ['t-nord', 'Nordheim'],
    ['t-sued', 'Südheim'],
  ] as const) {
    await new Promise((resolve, reject) =>
      client.importTenant(
        { tenantId, document: JSON.stringify(tenant(tenantId, name)) },
        metadata,
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
  }
  client.close();

  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal_authz',
    signingKey: TOKENS.signingKey,
    addresses: { directory: `127.0.0.1:${directory.grpcPort}`, presence: `127.0.0.1:${presence.grpcPort}` },
  });
  await portal.accounts([
    { tenantId: 't-nord', username: 'admin', role: 'admin', departments: [], subject: 'admin' },
    { tenantId: 't-sued', username: 'admin', role: 'admin', departments: [], subject: 'admin' },
    { tenantId: 't-nord', username: 'lead', role: 'supervisor', departments: ['meldeamt'], subject: 'lead' },
    { tenantId: 't-nord', username: 'money', role: 'finance', departments: [], subject: 'money' },
    { tenantId: 't-nord', username: 'anke', role: 'agent', departments: [], subject: 's-1' },
    { tenantId: '', username: 'provider', role: 'operator', departments: [], subject: 'provider' },
  ]);
  // Presence learns the staff from the directory's events; the supervisor's pages read it.
  const lead = await signedIn('t-nord', 'lead');
  await eventually(async () => {
    const response = await lead.browser.request('/api/staff');
    const body = (await response.json()) as { staff?: unknown[] };
    return response.status === 200 && body.staff?.length === 2 ? true : undefined;
  }, 'presence knows the members of meldeamt');
});

afterAll(async () => {
  await portal?.stop();
  await Promise.all(processes.map((process) => process.stop()));
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

async function signedIn(tenantId: string, username: string): Promise<{ browser: TestBrowser; csrf: string }> {
  const browser = portal.browser(`192.0.2.${Math.floor(Math.random() * 200) + 1}`);
  const response = await browser.json('/api/session', 'POST', {
    tenant: tenantId,
    username,
    password: `${username}-pw`,
  });
  expect(response.status).toBe(200);
  return { browser, csrf: ((await response.json()) as { csrfToken: string }).csrfToken };
}

const get = async (browser: TestBrowser, path: string) => {
  const response = await browser.request(path);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the route table', () => {
  it('lets no one who is not signed in use any route but sign-in, the language switch and assets', async () => {
    const anonymous = portal.browser();
    const routes = PAGES.flatMap((page) => page.routes);
    const open: string[] = [];
    for (const route of routes.filter((r) => r.allow !== 'public')) {
      const url = route.path.replace(/:(\w+)/g, 'x');
      const response = await anonymous.request(url, {
        method: route.method,
        ...(route.method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }),
      });
      const toSignIn = response.status === 303 && response.headers.get('location')?.startsWith('/anmelden');
      if (response.status !== 401 && !toSignIn) open.push(`${route.method} ${route.path}: ${response.status}`);
    }
    expect(open).toEqual([]);
    const publicRoutes = routes.filter((r) => r.allow === 'public').map((r) => r.path);
    expect(
      publicRoutes.filter(
        (p) => !/^(\/anmelden(\/oidc(\/callback)?)?|\/api\/session|\/sprache\/:lang|\/static\/[\w.-]+)$/.test(p),
      ),
    ).toEqual([]);
  });
});

describe('tenants', () => {
  it("an admin sees only their own tenant's data; a tenant in the request changes nothing", async () => {
    const { browser } = await signedIn('t-sued', 'admin');
    const sites = await get(browser, '/api/sites?tenantId=t-nord&tenant=t-nord');
    expect(sites.status).toBe(200);
    expect((sites.body['sites'] as { name: string }[]).map((site) => site.name)).toEqual(['Rathaus Südheim']);
    const staff = await get(browser, '/api/staff/s-1');
    expect((staff.body['person'] as { name: string }).name).toBe('Anke Hansen');
    expect((await get(browser, '/api/session')).body['actingTenant'] as string).toBe('t-sued');
  });

  it('an admin cannot choose another tenant; an operator chooses one first', async () => {
    const admin = await signedIn('t-sued', 'admin');
    const choose = await admin.browser.json(
      '/api/tenant',
      'POST',
      { tenantId: 't-nord' },
      { 'x-csrf-token': admin.csrf },
    );
    expect(choose.status).toBe(403);

    const operator = await signedIn('', 'provider');
    expect((await get(operator.browser, '/api/sites')).status).toBe(409);
    const chosen = await operator.browser.json(
      '/api/tenant',
      'POST',
      { tenantId: 't-nord' },
      { 'x-csrf-token': operator.csrf },
    );
    expect(chosen.status).toBe(200);
    const sites = await get(operator.browser, '/api/sites');
    expect((sites.body['sites'] as { name: string }[]).map((site) => site.name)).toEqual(['Rathaus Nordheim']);
    const unknown = await operator.browser.json(
      '/api/tenant',
      'POST',
      { tenantId: 't-west' },
      { 'x-csrf-token': operator.csrf },
    );
    expect(unknown.status).toBe(400);
  });
});

describe('roles', () => {
  it('a department lead sees and changes only their own department', async () => {
    const { browser, csrf } = await signedIn('t-nord', 'lead');
    const list = await get(browser, '/api/departments');
    expect((list.body['departments'] as { departmentId: string }[]).map((d) => d.departmentId)).toEqual(['meldeamt']);
    expect((await get(browser, '/api/departments/standesamt')).status).toBe(403);
    const other = await browser.json(
      '/api/departments/standesamt',
      'PUT',
      { ringTimeoutSeconds: 30 },
      { 'x-csrf-token': csrf },
    );
    expect(other.status).toBe(403);
    expect((await browser.request('/abteilungen/standesamt')).status).toBe(403);
    // s-3 is only in standesamt.
    expect((await get(browser, '/api/staff/s-3')).status).toBe(403);
    const own = await browser.json(
      '/api/departments/meldeamt',
      'PUT',
      { ringTimeoutSeconds: 25 },
      { 'x-csrf-token': csrf },
    );
    expect(own.status).toBe(200);
    expect((await own.json()) as object).toMatchObject({ department: { ringTimeoutSeconds: 25 } });
    const queue = await browser.json(
      '/api/departments/meldeamt',
      'PUT',
      { closedTarget: { kind: 'voicemail', target: 'meldeamt' }, tierDelaySeconds: 20, callbackKey: '#' },
      { 'x-csrf-token': csrf },
    );
    expect(await queue.json()).toMatchObject({
      department: {
        ringTimeoutSeconds: 25,
        closedTarget: { kind: 'voicemail', target: 'meldeamt' },
        tierDelaySeconds: 20,
        callbackKey: '#',
      },
    });
    const bad = await browser.json(
      '/api/departments/meldeamt',
      'PUT',
      { callbackKey: '12', closedTarget: { kind: 'department' } },
      { 'x-csrf-token': csrf },
    );
    expect(bad.status).toBe(422);
    expect(Object.keys(((await bad.json()) as { fields: object }).fields).sort()).toEqual([
      'callbackKey',
      'closedTarget.target',
    ]);
    const adding = await browser.json(
      '/api/departments/meldeamt',
      'PUT',
      { members: [{ staffId: 's-1' }, { staffId: 's-2' }, { staffId: 's-3' }] },
      { 'x-csrf-token': csrf },
    );
    expect(adding.status).toBe(403);
    expect((await get(browser, '/api/sites')).status).toBe(403);
  });

  it('finance reads no directory pages; an agent only their own person', async () => {
    const finance = await signedIn('t-nord', 'money');
    for (const path of ['/api/sites', '/api/departments', '/api/staff', '/api/numbers']) {
      expect((await get(finance.browser, path)).status, path).toBe(403);
    }
    const agent = await signedIn('t-nord', 'anke');
    expect((await get(agent.browser, '/api/staff/s-1')).status).toBe(200);
    expect((await get(agent.browser, '/api/staff/s-2')).status).toBe(403);
    const other = await agent.browser.json(
      '/api/staff/s-2/home-office',
      'PUT',
      { enabled: false },
      { 'x-csrf-token': agent.csrf },
    );
    expect(other.status).toBe(403);
    const own = await agent.browser.json(
      '/api/staff/s-1/home-office',
      'PUT',
      { enabled: true, homeOfficeNumber: '+4915112345678' },
      { 'x-csrf-token': agent.csrf },
    );
    expect(own.status).toBe(200);
    expect((await own.json()) as object).toMatchObject({
      person: { homeOffice: true, homeOfficeNumber: '+4915112345678' },
    });
    expect((await get(agent.browser, '/api/departments')).status).toBe(403);
  });

  it('an admin edits a site through the form; bad input is refused field by field', async () => {
    const { browser } = await signedIn('t-nord', 'admin');
    const page = await (await browser.request('/standorte/rathaus')).text();
    expect(page).toContain('<label for="field-headcount">');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const bad = await browser.post('/standorte/rathaus', {
      _csrf: csrf,
      street: '',
      postalCode: '2484',
      city: 'Nordheim',
      headcount: 'viele',
    });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('aria-describedby="field-street-error"');
    expect(html).toContain('href="#field-postalCode"');
    expect(html).toContain('aria-invalid="true"');
    const good = await browser.post('/standorte/rathaus', {
      _csrf: csrf,
      street: 'Markt 2',
      postalCode: '24848',
      city: 'Nordheim',
      headcount: '7',
    });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/standorte/rathaus?gespeichert=1');
    const department = await browser.request('/abteilungen/meldeamt');
    expect(department.status).toBe(200);
    const form = await department.text();
    for (const field of [
      'ringTimeoutSeconds',
      'closedKind',
      'callbackKey',
      'priority-s-1',
      'hours-monday',
      'addMember',
    ]) {
      expect(form, field).toContain(`id="field-${field}"`);
    }
    const site = await get(browser, '/api/sites/rathaus');
    expect(site.body['site']).toMatchObject({ address: { street: 'Markt 2', postalCode: '24848' }, headcount: 7 });
  });
});
