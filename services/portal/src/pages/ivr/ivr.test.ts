import * as grpc from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, type TestBrowser } from '../../../test/harness.js';
import { translator } from '../../i18n.js';
import { fieldsOfProblems, menuFromForm, menuTree } from './index.js';
import { messages } from './messages.js';

const { TargetKind } = ivrServiceV1;
const target = (kind: ivrServiceV1.TargetKind, ref = '') => ({ kind, ref });
const MENUS = [
  ivrServiceV1.Menu.fromPartial({
    tenantId: 't-kropp',
    menuId: 'main-menu',
    name: 'Hauptmenü',
    language: 'de-DE',
    entry: true,
    prompts: ['sound:switchboard/kropp/welcome'],
    options: [
      { digits: '1', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'buergerbuero') },
      { digits: '2', target: target(TargetKind.TARGET_KIND_SUBMENU, 'standesamt-menu') },
      { digits: '9', target: target(TargetKind.TARGET_KIND_REPEAT) },
    ],
    timeoutMs: 6000,
    interDigitTimeoutMs: 2000,
    bargeIn: true,
    maxRetries: 2,
    fallback: target(TargetKind.TARGET_KIND_DEPARTMENT, 'zentrale'),
    hours: { closed: target(TargetKind.TARGET_KIND_VOICEMAIL, 'zentrale') },
    revision: '7',
  }),
  ivrServiceV1.Menu.fromPartial({
    tenantId: 't-kropp',
    menuId: 'standesamt-menu',
    name: 'Standesamt',
    language: 'de-DE',
    prompts: ['sound:switchboard/kropp/standesamt-menu'],
    options: [
      { digits: '1', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'standesamt') },
      { digits: '0', target: target(TargetKind.TARGET_KIND_SUBMENU, 'main-menu') },
    ],
    timeoutMs: 6000,
    interDigitTimeoutMs: 2000,
    maxRetries: 1,
    fallback: target(TargetKind.TARGET_KIND_DEPARTMENT, 'standesamt'),
    revision: '5',
  }),
];

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let ivr: Awaited<ReturnType<typeof startFakeService>>;
/** What the fake ivr answers SaveMenus with next (a refusal when set). */
let refuseNext: Error | undefined;

beforeAll(async () => {
  mongo = await startMongo();
  ivr = await startFakeService(ivrServiceV1.IvrServiceService, {
    listMenus: () => ({ menus: MENUS, revision: '7' }),
    saveMenus: (request: ivrServiceV1.SaveMenusRequest) => {
      const refusal = refuseNext;
      refuseNext = undefined;
      if (refusal) throw refusal;
      return { menus: request.menus, revision: '8' };
    },
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-ivr',
    signingKey: generateSigningKey(),
    addresses: { ivr: ivr.address },
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 'fritz', role: 'finance', departments: [], subject: 'fritz' },
    { tenantId: 't-kropp', username: 's-101', role: 'agent', departments: [], subject: 's-101' },
  ]);
});

afterAll(async () => {
  ivr?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = portal.browser('192.0.2.50');
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

const saves = () => ivr.calls.filter((call) => call.method === 'saveMenus');

/** The edit form's fields as the browser would post them, with changes. */
async function formOf(browser: TestBrowser, changes: Record<string, string>): Promise<Record<string, string>> {
  const html = await (await browser.request('/ivr/main-menu')).text();
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input([^>]*)>/g)) {
    const name = /name="([^"]+)"/.exec(match[1]!)?.[1];
    if (!name) continue;
    const type = /type="([^"]+)"/.exec(match[1]!)?.[1];
    if (type === 'checkbox') {
      if (/checked/.test(match[1]!)) fields[name] = 'on';
    } else fields[name] = /value="([^"]*)"/.exec(match[1]!)?.[1] ?? '';
  }
  for (const match of html.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    fields[match[1]!] = /<option value="([^"]*)" selected=""/.exec(match[2]!)?.[1] ?? '';
  }
  for (const match of html.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) {
    fields[match[1]!] = match[2]!;
  }
  return { ...fields, ...changes };
}

describe('ivr: tree and form', () => {
  const t = translator(messages, 'de');

  it('shows each entry menu as a tree, a submenu leading back named, not expanded again', () => {
    const [main] = menuTree(t, MENUS);
    expect(main!.menu.menuId).toBe('main-menu');
    expect(main!.lines.map((line) => `${line.label} → ${line.target}`)).toEqual([
      'Taste 1 → Abteilung: buergerbuero',
      'Taste 2 → Untermenü: Standesamt (standesamt-menu)',
      'Taste 9 → Menü wiederholen',
      'Keine gültige Eingabe → Abteilung: zentrale',
      'Außerhalb der Öffnungszeiten → Sprachbox: zentrale',
    ]);
    expect(main!.lines[1]!.children.map((line) => line.target)).toEqual([
      'Abteilung: standesamt',
      'Untermenü: Hauptmenü (main-menu) (bereits oben gezeigt)',
      'Abteilung: standesamt',
    ]);
    expect(menuTree(t, MENUS)).toHaveLength(1);
  });

  it('reads the form into a menu, skipping empty rows, and refuses numbers that are not whole', () => {
    const { menu, errors } = menuFromForm(
      MENUS[0]!,
      {
        name: ' Hauptmenü ',
        language: 'de-DE',
        prompts: 'sound:a\r\n\r\nsound:b',
        timeoutMs: '5000',
        interDigitTimeoutMs: 'zwei',
        maxRetries: '1',
        entry: 'on',
        'option-0-digits': '1',
        'option-0-kind': 'department',
        'option-0-ref': ' bauamt ',
        'option-1-digits': '',
        'option-1-kind': '',
        'option-2-digits': '9',
        'option-2-kind': 'repeat',
        'option-2-ref': 'ignored',
        'fallback-kind': 'department',
        'fallback-ref': 'zentrale',
        'closed-kind': '',
        'holiday-kind': '',
      },
      3,
    );
    expect(errors).toEqual({ interDigitTimeoutMs: 'integer' });
    expect(menu).toMatchObject({
      menuId: 'main-menu',
      name: 'Hauptmenü',
      prompts: ['sound:a', 'sound:b'],
      timeoutMs: 5000,
      bargeIn: false,
      entry: true,
      options: [
        { digits: '1', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'bauamt') },
        { digits: '9', target: target(TargetKind.TARGET_KIND_REPEAT) },
      ],
      fallback: target(TargetKind.TARGET_KIND_DEPARTMENT, 'zentrale'),
      hours: undefined,
    });
  });

  it("puts each of the ivr service's problems beside the field it names", () => {
    const menu = ivrServiceV1.Menu.fromPartial({
      menuId: 'main-menu',
      options: [
        { digits: '1', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'a') },
        { digits: '12', target: target(TargetKind.TARGET_KIND_SUBMENU, 'nope') },
        { digits: '3' },
        { digits: '3', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'b') },
      ],
    });
    expect(
      fieldsOfProblems(menu, [
        'menu "main-menu" option "12": submenu "nope" does not exist',
        'menu "main-menu" option "3": a target kind is required',
        'menu "main-menu" option "3": defined twice',
        'menu "main-menu": option "1" is a prefix of option "12"',
        'menu "main-menu" fallback: a target kind is required',
        'menu "main-menu" hours.closed: extension "x" must be 2 to 8 digits',
        'menu "main-menu" prompts: at least one prompt is required',
        'menu "main-menu": timeout_ms must be between 1000 and 60000',
        'menu "main-menu" is unreachable from the entry menus (other)',
        'menu "standesamt-menu" is unreachable from the entry menus (main-menu)',
        'no entry menu: mark at least one menu as entry',
      ]),
    ).toEqual({
      'option-1-ref': ['menu "main-menu" option "12": submenu "nope" does not exist'],
      'option-3-kind': ['menu "main-menu" option "3": a target kind is required'],
      'option-3-digits': ['menu "main-menu" option "3": defined twice'],
      'option-1-digits': ['menu "main-menu": option "1" is a prefix of option "12"'],
      'fallback-kind': ['menu "main-menu" fallback: a target kind is required'],
      'closed-ref': ['menu "main-menu" hours.closed: extension "x" must be 2 to 8 digits'],
      prompts: ['menu "main-menu" prompts: at least one prompt is required'],
      timeoutMs: ['menu "main-menu": timeout_ms must be between 1000 and 60000'],
      entry: ['menu "main-menu" is unreachable from the entry menus (other)'],
      general: [
        'menu "standesamt-menu" is unreachable from the entry menus (main-menu)',
        'no entry menu: mark at least one menu as entry',
      ],
    });
  });
});

describe('ivr pages', () => {
  it('lists the menus with edit links and the tree preview', async () => {
    const browser = await signedIn('anna');
    const response = await browser.request('/ivr');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<a href="/ivr/main-menu">Hauptmenü bearbeiten</a>');
    expect(html).toContain('<h2 id="baum">Menübaum</h2>');
    expect(html).toContain('<span class="tree-key">Taste 2</span> → Untermenü: Standesamt (standesamt-menu)');
    expect(ivr.calls.at(-1)!.claims).toMatchObject({ sub: 'anna', role: 'admin', tid: 't-kropp' });
  });

  it('shows the form with every setting labelled and saves a changed option at the revision read', async () => {
    const browser = await signedIn('anna');
    const html = await (await browser.request('/ivr/main-menu')).text();
    expect(html).toContain('<label for="field-timeoutMs">Wartezeit auf die erste Taste (ms)</label>');
    expect(html).toContain('<legend>Eintrag 1</legend>');
    expect(html).toMatch(/<input id="field-option-0-ref" name="option-0-ref" type="text" value="buergerbuero"/);
    expect(html).toContain('<input type="hidden" name="revision" value="7"/>');
    const saved = await browser.post('/ivr/main-menu', await formOf(browser, { 'option-0-ref': 'bauamt' }));
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/ivr?gespeichert=1');
    const request = saves().at(-1)!.request as ivrServiceV1.SaveMenusRequest;
    expect(request).toMatchObject({ tenantId: 't-kropp', expectedRevision: '7', deleteMenuIds: [] });
    expect(request.menus).toHaveLength(1);
    expect(request.menus[0]).toMatchObject({
      menuId: 'main-menu',
      name: 'Hauptmenü',
      entry: true,
      bargeIn: true,
      timeoutMs: 6000,
      options: [
        { digits: '1', target: target(TargetKind.TARGET_KIND_DEPARTMENT, 'bauamt') },
        { digits: '2', target: target(TargetKind.TARGET_KIND_SUBMENU, 'standesamt-menu') },
        { digits: '9', target: target(TargetKind.TARGET_KIND_REPEAT) },
      ],
      hours: { closed: target(TargetKind.TARGET_KIND_VOICEMAIL, 'zentrale') },
    });
    expect(await (await browser.request('/ivr?gespeichert=1')).text()).toContain('Das Menü wurde gespeichert.');
  });

  it("refuses an invalid menu with the ivr service's reasons beside the fields, keeping what was entered", async () => {
    const browser = await signedIn('anna');
    refuseNext = grpcError(
      grpc.status.INVALID_ARGUMENT,
      'menu "main-menu" option "2": submenu "nope" does not exist; menu "standesamt-menu" is unreachable from the entry menus (main-menu)',
    );
    const response = await browser.post('/ivr/main-menu', await formOf(browser, { 'option-1-ref': 'nope' }));
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain(
      '<a href="#field-option-1-ref">Eintrag 2: Ziel-Kennung: menu &quot;main-menu&quot; option &quot;2&quot;: submenu &quot;nope&quot; does not exist</a>',
    );
    expect(html).toMatch(
      /<input id="field-option-1-ref" name="option-1-ref" type="text" value="nope" aria-invalid="true"/,
    );
    expect(html).toContain(
      '<p class="error" id="field-general" tabindex="-1">menu &quot;standesamt-menu&quot; is unreachable',
    );

    refuseNext = grpcError(grpc.status.ABORTED, 'menus are at revision 8, not 7');
    const stale = await browser.post('/ivr/main-menu', await formOf(browser, {}));
    expect(stale.status).toBe(422);
    expect(await stale.text()).toContain('Die Menüs wurden inzwischen anderweitig geändert.');

    const before = saves().length;
    const garbage = await browser.post('/ivr/main-menu', await formOf(browser, { maxRetries: 'zwei' }));
    expect(garbage.status).toBe(422);
    expect(await garbage.text()).toContain('id="field-maxRetries-error"');
    expect(saves().length).toBe(before);
  });

  it('answers the menus and the tree under /api/ivr/menus and saves by PUT, refusals by field', async () => {
    const browser = await signedIn('anna');
    const csrf = (await (await browser.request('/ivr/main-menu')).text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
    const listed = (await (await browser.request('/api/ivr/menus')).json()) as {
      revision: string;
      menus: unknown[];
      tree: Array<{ menuId: string }>;
    };
    expect(listed.revision).toBe('7');
    expect(listed.menus).toHaveLength(2);
    expect(listed.tree.map((tree) => tree.menuId)).toEqual(['main-menu']);

    refuseNext = grpcError(grpc.status.INVALID_ARGUMENT, 'menu "main-menu" fallback: a target kind is required');
    const refused = await browser.json(
      '/api/ivr/menus/main-menu',
      'PUT',
      { menu: ivrServiceV1.Menu.toJSON({ ...MENUS[0]!, fallback: undefined }), revision: '7' },
      { 'x-csrf-token': csrf },
    );
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({
      error: 'refused by the ivr service',
      fields: { 'fallback-kind': ['menu "main-menu" fallback: a target kind is required'] },
    });
    const saved = await browser.json(
      '/api/ivr/menus/main-menu',
      'PUT',
      { menu: ivrServiceV1.Menu.toJSON(MENUS[0]!), revision: '7' },
      { 'x-csrf-token': csrf },
    );
    expect(saved.status).toBe(200);
    expect((saves().at(-1)!.request as ivrServiceV1.SaveMenusRequest).menus[0]).toMatchObject({
      tenantId: 't-kropp',
      menuId: 'main-menu',
    });
  });

  it('is refused to department leads, finance and agents before any service is asked', async () => {
    const before = ivr.calls.length;
    for (const username of ['sue', 'fritz', 's-101']) {
      const browser = await signedIn(username);
      expect((await browser.request('/ivr')).status).toBe(403);
      expect((await browser.request('/ivr/main-menu')).status).toBe(403);
      expect((await browser.request('/api/ivr/menus')).status).toBe(403);
    }
    expect(ivr.calls.length).toBe(before);
  });
});
