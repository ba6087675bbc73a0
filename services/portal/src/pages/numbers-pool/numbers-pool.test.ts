import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1, directoryV1, ivrServiceV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, TestBrowser } from '../../../test/harness.js';
import { fieldOfAssignRefusal, fieldOfRefusal, parseTarget, poolAssignment, poolNumbersRequest } from './index.js';

const { EntryPointKind, NumberKind } = directoryV1;
const toDepartment = (target: string) => ({ kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target });

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let directory: Awaited<ReturnType<typeof startFakeService>>;
let ivr: Awaited<ReturnType<typeof startFakeService>>;
let browserFor: () => TestBrowser;
/** What the fake directory answers RequestPoolNumbers with next (a refusal when set). */
let refuseNext: Error | undefined;
/** The same for AssignNumberPool and DeleteNumberPool. */
let refuseAssign: Error | undefined;
let refuseDelete: Error | undefined;

const POOL = {
  pool: { poolId: 'kropp-1', name: 'Block Kropp', blocks: [{ first: '+49462472010', last: '+49462472099' }] },
  size: 90,
  inUse: ['+49462472010'],
  free: 89,
};
const NUMBERS = [
  directoryV1.PhoneNumber.fromPartial({
    number: '+494624720',
    kind: NumberKind.NUMBER_KIND_MAIN,
    entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
  }),
  directoryV1.PhoneNumber.fromPartial({
    number: '+49462472010',
    kind: NumberKind.NUMBER_KIND_MAIN,
    entryPoint: toDepartment('bauamt'),
  }),
];

beforeAll(async () => {
  mongo = await startMongo();
  directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    listNumberPools: () => ({ pools: [POOL] }),
    listDepartments: () => ({
      departments: [directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt' })],
    }),
    listSites: () => ({ sites: [directoryV1.Site.fromPartial({ siteId: 'amt-kropp', name: 'Amt Kropp' })] }),
    listNumbers: () => ({ numbers: NUMBERS }),
    requestPoolNumbers: (request: directoryServiceV1.RequestPoolNumbersRequest) => {
      const refusal = refuseNext;
      refuseNext = undefined;
      if (refusal) throw refusal;
      return {
        numbers: ['+49462472011', '+49462472012']
          .slice(0, request.count || 1)
          .map((number) =>
            directoryV1.PhoneNumber.fromPartial({ number, kind: request.kind, entryPoint: request.entryPoint }),
          ),
      };
    },
    listTenants: () => ({ tenants: [directoryV1.Tenant.fromPartial({ tenantId: 't-kropp', name: 'Amt Kropp' })] }),
    assignNumberPool: (request: directoryServiceV1.AssignNumberPoolRequest) => {
      const refusal = refuseAssign;
      refuseAssign = undefined;
      if (refusal) throw refusal;
      return { pool: { pool: request.pool, size: 90, inUse: [], free: 90 } };
    },
    deleteNumberPool: () => {
      const refusal = refuseDelete;
      refuseDelete = undefined;
      if (refusal) throw refusal;
      return {};
    },
    releasePoolNumber: (request: directoryServiceV1.ReleasePoolNumberRequest) => ({
      released: NUMBERS.find((number) => number.number === request.number),
    }),
  });
  ivr = await startFakeService(ivrServiceV1.IvrServiceService, {
    listMenus: () => ({
      menus: [
        ivrServiceV1.Menu.fromPartial({ menuId: 'main-menu', name: 'Hauptmenü', entry: true }),
        ivrServiceV1.Menu.fromPartial({ menuId: 'sub', name: 'Untermenü' }),
      ],
      revision: 3,
    }),
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-numbers-pool',
    signingKey: generateSigningKey(),
    addresses: { directory: directory.address, ivr: ivr.address },
  });
  browserFor = () => portal.browser('192.0.2.40');
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 'fritz', role: 'finance', departments: [], subject: 'fritz' },
    { tenantId: 't-kropp', username: 's-101', role: 'agent', departments: [], subject: 's-101' },
    { tenantId: '', username: 'provider', role: 'operator', departments: [], subject: 'provider' },
  ]);
});

afterAll(async () => {
  directory?.close();
  ivr?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = browserFor();
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

/** The provider's operator, acting for t-kropp (chosen as operators do). */
async function operatorFor(): Promise<{ browser: TestBrowser; csrf: string }> {
  const browser = browserFor();
  expect((await browser.signIn('', 'provider')).status).toBe(303);
  const csrf = TestBrowser.csrfOf(await (await browser.request('/mandant')).text());
  expect((await browser.json('/api/tenant', 'POST', { tenantId: 't-kropp' }, { 'x-csrf-token': csrf })).status).toBe(
    200,
  );
  return { browser, csrf };
}

const callsOf = (method: string) => directory.calls.filter((call) => call.method === method);

describe('number pool: the form', () => {
  it('reads a target and checks count or number before asking the directory', () => {
    expect(parseTarget('department:bauamt')).toEqual(toDepartment('bauamt'));
    expect(parseTarget('department:')).toBeUndefined();
    expect(parseTarget('staff:s-1')).toBeUndefined();
    expect(
      poolNumbersRequest('t-kropp', { count: '2', number: '', target: 'fax-department:bauamt', siteId: '' }).request,
    ).toMatchObject({
      tenantId: 't-kropp',
      count: 2,
      kind: NumberKind.NUMBER_KIND_FAX,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT, target: 'bauamt' },
    });
    expect(poolNumbersRequest('t-kropp', { count: '', number: '', target: 'x', siteId: '' })).toEqual({
      errors: { target: 'badTarget', count: 'countOrNumber' },
    });
    expect(
      poolNumbersRequest('t-kropp', { count: '101', number: '', target: 'department:a', siteId: '' }).errors,
    ).toEqual({ count: 'badCount' });
  });

  it("puts the directory's refusal next to the field it names", () => {
    const form = { count: '1', number: '', target: 'department:a', siteId: '' };
    expect(fieldOfRefusal('numbers[+49462472011].entryPoint.target: no department "a"', form)).toBe('target');
    expect(fieldOfRefusal("number: +49462472100 is not in the tenant's pools", form)).toBe('number');
    expect(fieldOfRefusal("only 3 free numbers in the tenant's pools, 5 requested", form)).toBe('count');
    expect(fieldOfRefusal('number +49462472011 is already a number of the tenant', { ...form, number: '+49' })).toBe(
      'number',
    );
  });
});

describe('number pool page', () => {
  it('shows the pools, the numbers in use with a release link each, and the request form', async () => {
    const browser = await signedIn('anna');
    const response = await browser.request('/nummern/pool');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<th scope="row">Block Kropp</th>');
    expect(html).toContain('+494624720-10..99');
    expect(html).toContain('90 (89 frei)');
    expect(html).toContain(
      '<a href="/nummern/pool/freigeben?number=%2B49462472010" aria-label="+49462472010 freigeben">Freigeben</a>',
    );
    expect(html).toContain('<label for="field-count">Anzahl</label>');
    expect(html).toContain('<option value="ivr-menu:main-menu" selected="">Sprachmenü: Hauptmenü</option>');
    expect(html).toContain('<option value="department:bauamt">Abteilung: Bauamt</option>');
    expect(html).not.toContain('Untermenü');
    expect(callsOf('listNumberPools').at(-1)!.claims).toMatchObject({ sub: 'anna', role: 'admin', tid: 't-kropp' });
  });

  it('requests numbers and says which were assigned', async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/nummern/pool')).text());
    const response = await browser.post('/nummern/pool/anfordern', {
      _csrf: csrf,
      count: '2',
      number: '',
      target: 'department:bauamt',
      siteId: 'amt-kropp',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Zugeteilt: +49462472011, +49462472012.');
    expect(callsOf('requestPoolNumbers').at(-1)!.request).toMatchObject({
      tenantId: 't-kropp',
      count: 2,
      number: '',
      kind: NumberKind.NUMBER_KIND_MAIN,
      siteId: 'amt-kropp',
      entryPoint: toDepartment('bauamt'),
    });
  });

  it("shows the form's own errors and the directory's refusals next to their fields", async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/nummern/pool')).text());
    const before = callsOf('requestPoolNumbers').length;
    const empty = await browser.post('/nummern/pool/anfordern', {
      _csrf: csrf,
      count: '',
      number: '',
      target: 'department:bauamt',
    });
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain(
      '<a href="#field-count">Anzahl: Bitte eine Anzahl oder eine bestimmte Nummer angeben, nicht beides.</a>',
    );
    expect(callsOf('requestPoolNumbers').length).toBe(before);

    refuseNext = grpcError(grpc.status.FAILED_PRECONDITION, "only 3 free numbers in the tenant's pools, 5 requested");
    const tooMany = await (
      await browser.post('/nummern/pool/anfordern', {
        _csrf: csrf,
        count: '5',
        number: '',
        target: 'department:bauamt',
      })
    ).text();
    expect(tooMany).toContain(
      '<p class="error" id="field-count-error">only 3 free numbers in the tenant&#39;s pools, 5 requested</p>',
    );
    expect(tooMany).toMatch(/<input id="field-count"[^>]*value="5"[^>]*aria-invalid="true"/);

    refuseNext = grpcError(
      grpc.status.INVALID_ARGUMENT,
      'numbers[+49462472011].entryPoint.target: no department "bauamt"',
    );
    const dangling = await (
      await browser.post('/nummern/pool/anfordern', {
        _csrf: csrf,
        count: '',
        number: '+49462472011',
        target: 'department:bauamt',
      })
    ).text();
    expect(dangling).toContain('id="field-target-error"');
    expect(callsOf('requestPoolNumbers').at(-1)!.request).toMatchObject({ count: 0, number: '+49462472011' });
  });

  it('asks before releasing, warns when it is the last number of its target, then releases', async () => {
    const browser = await signedIn('anna');
    const page = await (await browser.request('/nummern/pool/freigeben?number=%2B49462472010')).text();
    expect(page).toContain('Die Nummer +49462472010 führt zu Abteilung: Bauamt.');
    expect(page).toContain('Es ist die letzte Nummer, die zu Abteilung: Bauamt führt');
    expect(page).toContain(
      '<label for="field-confirm">Ich bestätige, dass Abteilung: Bauamt danach von außen nicht mehr erreichbar ist.</label>',
    );
    const csrf = TestBrowser.csrfOf(page);
    const before = callsOf('releasePoolNumber').length;
    const unconfirmed = await browser.post('/nummern/pool/freigeben', { _csrf: csrf, number: '+49462472010' });
    expect(unconfirmed.status).toBe(422);
    expect(await unconfirmed.text()).toContain(
      '<a href="#field-confirm">Nummer freigeben: Bitte bestätigen Sie die Freigabe.</a>',
    );
    expect(callsOf('releasePoolNumber').length).toBe(before);

    const released = await browser.post('/nummern/pool/freigeben', {
      _csrf: csrf,
      number: '+49462472010',
      confirm: 'yes',
    });
    expect(released.status).toBe(303);
    expect(released.headers.get('location')).toBe('/nummern/pool?freigegeben=%2B49462472010');
    expect(callsOf('releasePoolNumber').at(-1)!.request).toEqual({
      tenantId: 't-kropp',
      number: '+49462472010',
      allowUnreachable: true,
    });
    expect(await (await browser.request('/nummern/pool?freigegeben=%2B49462472010')).text()).toContain(
      'Die Nummer +49462472010 ist freigegeben und wieder im Pool.',
    );
    expect((await browser.request('/nummern/pool/freigeben?number=%2B49000')).status).toBe(404);
  });

  it('answers the same under /api/number-pools', async () => {
    const browser = await signedIn('anna');
    const csrf = TestBrowser.csrfOf(await (await browser.request('/nummern/pool')).text());
    expect(await (await browser.request('/api/number-pools')).json()).toEqual({
      pools: [directoryServiceV1.NumberPoolStatus.toJSON(POOL)],
    });
    const requested = await browser.json(
      '/api/number-pools/request',
      'POST',
      { count: 1, target: 'department:bauamt' },
      { 'x-csrf-token': csrf },
    );
    expect(await requested.json()).toEqual({
      numbers: [
        {
          number: '+49462472011',
          kind: 'NUMBER_KIND_MAIN',
          entryPoint: { kind: 'ENTRY_POINT_KIND_DEPARTMENT', target: 'bauamt' },
        },
      ],
    });
    const bad = await browser.json(
      '/api/number-pools/request',
      'POST',
      { target: 'nowhere' },
      { 'x-csrf-token': csrf },
    );
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({
      error: 'invalid request',
      fields: {
        target: 'Bitte ein Ziel wählen.',
        count: 'Bitte eine Anzahl oder eine bestimmte Nummer angeben, nicht beides.',
      },
    });
    const released = await browser.json(
      '/api/number-pools/release',
      'POST',
      { number: '+49462472010' },
      { 'x-csrf-token': csrf },
    );
    expect(released.status).toBe(200);
    expect(callsOf('releasePoolNumber').at(-1)!.request).toMatchObject({ allowUnreachable: false });
  });

  it('is refused to department leads, finance and agents before any service is asked', async () => {
    const before = directory.calls.length;
    for (const username of ['sue', 'fritz', 's-101']) {
      const browser = await signedIn(username);
      expect((await browser.request('/nummern/pool')).status).toBe(403);
      expect((await browser.request('/api/number-pools')).status).toBe(403);
      const csrf = TestBrowser.csrfOf(await (await browser.request('/')).text());
      expect(
        (await browser.json('/api/number-pools/release', 'POST', { number: '+49462472010' }, { 'x-csrf-token': csrf }))
          .status,
      ).toBe(403);
    }
    expect(directory.calls.length).toBe(before);
  });
});

describe('number pool: the provider assigns and deletes pools', () => {
  it('reads the blocks with the shared notation and names a malformed one', () => {
    expect(
      poolAssignment('t-kropp', { poolId: 'kropp-2', name: 'Zwei', blocks: '+494624720-10..99, +49462472100' }).request,
    ).toEqual({
      tenantId: 't-kropp',
      pool: {
        poolId: 'kropp-2',
        name: 'Zwei',
        blocks: [
          { first: '+49462472010', last: '+49462472099' },
          { first: '+49462472100', last: '+49462472100' },
        ],
      },
    });
    expect(poolAssignment('t-kropp', { poolId: 'kropp 2', name: '', blocks: '+494624720-1..99' }).errors).toEqual({
      poolId: { key: 'badPoolId' },
      blocks: { text: '+494624720-1..99: "1" and "99" must have as many digits' },
    });
    expect(poolAssignment('t-kropp', { poolId: 'p', name: '', blocks: ' ' }).errors).toEqual({
      blocks: { key: 'noBlocks' },
    });
    expect(fieldOfAssignRefusal('pool.blocks[0]: overlaps pool "a" of tenant t-sued')).toBe('blocks');
    expect(fieldOfAssignRefusal('pool.poolId: required')).toBe('poolId');
  });

  it('the operator assigns a pool for the chosen tenant and deletes one; the forms are theirs only', async () => {
    const { browser, csrf } = await operatorFor();
    const page = await (await browser.request('/nummern/pool')).text();
    expect(page).toContain('<h2 id="zuweisen">Nummernpool zuweisen (Mandant t-kropp)</h2>');
    expect(page).toContain('Pool Block Kropp löschen');
    const assigned = await browser.post('/nummern/pool/zuweisen', {
      _csrf: csrf,
      poolId: 'kropp-2',
      name: 'Zweiter Block',
      blocks: '+494624721-00..49',
    });
    expect(assigned.status).toBe(200);
    expect(await assigned.text()).toContain('Pool kropp-2 zugewiesen: 90 Nummern, 90 frei.');
    expect(callsOf('assignNumberPool').at(-1)!.request).toEqual({
      tenantId: 't-kropp',
      pool: { poolId: 'kropp-2', name: 'Zweiter Block', blocks: [{ first: '+49462472100', last: '+49462472149' }] },
    });

    const deleted = await browser.post('/nummern/pool/loeschen', { _csrf: csrf, poolId: 'kropp-1' });
    expect(await deleted.text()).toContain('Pool kropp-1 gelöscht.');
    expect(callsOf('deleteNumberPool').at(-1)!.request).toEqual({ tenantId: 't-kropp', poolId: 'kropp-1' });

    const admin = await signedIn('anna');
    const adminPage = await (await admin.request('/nummern/pool')).text();
    expect(adminPage).not.toContain('zuweisen');
    expect(adminPage).not.toContain('löschen');
  });

  it('a malformed block is refused at the field before the directory is asked; its refusals land there too', async () => {
    const { browser, csrf } = await operatorFor();
    const before = callsOf('assignNumberPool').length;
    const malformed = await browser.post('/nummern/pool/zuweisen', {
      _csrf: csrf,
      poolId: 'kropp-2',
      name: '',
      blocks: '+494624720-99..10',
    });
    expect(malformed.status).toBe(422);
    const html = await malformed.text();
    expect(html).toContain(
      '<p class="error" id="field-blocks-error">+494624720-99..10: +49462472099 comes after +49462472010</p>',
    );
    expect(html).toMatch(/<input id="field-blocks"[^>]*value="\+494624720-99..10"[^>]*aria-invalid="true"/);
    expect(callsOf('assignNumberPool').length).toBe(before);

    refuseAssign = grpcError(
      grpc.status.INVALID_ARGUMENT,
      'pool.blocks[0]: overlaps the direct-dial range +49462473000…+49462473999 of tenant t-sued',
    );
    const clash = await (
      await browser.post('/nummern/pool/zuweisen', {
        _csrf: csrf,
        poolId: 'kropp-2',
        name: '',
        blocks: '+494624730-00..99',
      })
    ).text();
    expect(clash).toContain(
      '<p class="error" id="field-blocks-error">pool.blocks[0]: overlaps the direct-dial range +49462473000…+49462473999 of tenant t-sued</p>',
    );

    refuseDelete = grpcError(
      grpc.status.FAILED_PRECONDITION,
      'pool kropp-1 still has numbers in use: +49462472010; release them first',
    );
    const inUse = await browser.post('/nummern/pool/loeschen', { _csrf: csrf, poolId: 'kropp-1' });
    expect(inUse.status).toBe(422);
    expect(await inUse.text()).toContain(
      '<p class="error" id="field-deletePool-error">pool kropp-1 still has numbers in use: +49462472010; release them first</p>',
    );
  });

  it('answers the same under /api/number-pools; an admin is refused assigning and deleting', async () => {
    const { browser, csrf } = await operatorFor();
    const assigned = await browser.json(
      '/api/number-pools',
      'POST',
      { poolId: 'kropp-2', name: '', blocks: ['+494624721-00..49'] },
      { 'x-csrf-token': csrf },
    );
    expect(assigned.status).toBe(200);
    expect(await assigned.json()).toMatchObject({ pool: { pool: { poolId: 'kropp-2' }, size: 90, free: 90 } });
    const bad = await browser.json(
      '/api/number-pools',
      'POST',
      { poolId: 'kropp-2', blocks: ['04624720-10..99'] },
      { 'x-csrf-token': csrf },
    );
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({
      error: 'invalid request',
      fields: {
        blocks: '04624720-10..99: not a block (e.g. +494624720-10..99, +49462472010..+49462472099 or one number)',
      },
    });
    const deleted = await browser.request('/api/number-pools/kropp-2', {
      method: 'DELETE',
      headers: { 'x-csrf-token': csrf },
    });
    expect(deleted.status).toBe(200);

    const admin = await signedIn('anna');
    const adminCsrf = TestBrowser.csrfOf(await (await admin.request('/nummern/pool')).text());
    const before = directory.calls.length;
    expect(
      (
        await admin.json(
          '/api/number-pools',
          'POST',
          { poolId: 'kropp-2', blocks: ['+494624721-00..49'] },
          { 'x-csrf-token': adminCsrf },
        )
      ).status,
    ).toBe(403);
    expect(
      (await admin.post('/nummern/pool/zuweisen', { _csrf: adminCsrf, poolId: 'x', name: '', blocks: '+49462472100' }))
        .status,
    ).toBe(403);
    expect(
      (await admin.request('/api/number-pools/kropp-1', { method: 'DELETE', headers: { 'x-csrf-token': adminCsrf } }))
        .status,
    ).toBe(403);
    expect(directory.calls.length).toBe(before);
  });
});
