import { ivrServiceV1, presenceV1 } from '@switchboard/proto';
import { TENANT, type Stack } from './harness.js';

// A small tenant built for the routing tests: sites open all week, one always closed, one with
// today (and tomorrow, in case the test runs across midnight) as a closing day; departments
// with short ring timeouts and wrap-up.

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const berlinDate = (date: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(date);
export const berlinTime = (date: Date) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(date);
export const berlinDay = (date: Date) =>
  new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short' }).format(date).toLowerCase();

export const NUMBERS = {
  ivr: '+494624720',
  buergerbuero: '+494624730',
  closedIvr: '+494624740',
  holidayIvr: '+494624750',
  homeOffice: '+494624760',
  noAnswer: '+494624770',
  kill: '+494624790',
  schoolMain: '+494624780',
  overflow: '+494624711',
  callback: '+494624712',
  brokenMenu: '+494624713',
  rueckruf: '+494624714',
  busy: '+494624715',
  partlyBusy: '+494624716',
  closedDepartment: '+494624717',
  closing: '+494624718',
  ringAll: '+494624719',
  waiting: '+494624721',
  callbackKey: '+494624722',
  closingTime: '+494624723',
  takeover: '+494624724',
  unknown: '+494624799',
};

export const HOME_NUMBER = '+4915112345678';

interface StaffSpec {
  id: string;
  extension: string;
  site: string;
  department: string;
  wrapUp: number;
  homeOffice?: boolean;
}

export const STAFF: StaffSpec[] = [
  { id: 's-anna', extension: '1001', site: 'rathaus', department: 'standesamt', wrapUp: 0 },
  { id: 's-bert', extension: '1002', site: 'rathaus', department: 'standesamt', wrapUp: 0 },
  { id: 'b-1', extension: '1101', site: 'rathaus', department: 'buergerbuero', wrapUp: 1 },
  { id: 'b-2', extension: '1102', site: 'rathaus', department: 'buergerbuero', wrapUp: 1 },
  { id: 'b-3', extension: '1103', site: 'rathaus', department: 'buergerbuero', wrapUp: 1 },
  { id: 'h-home', extension: '1201', site: 'rathaus', department: 'homeoffice', wrapUp: 0, homeOffice: true },
  { id: 'n-1', extension: '1301', site: 'rathaus', department: 'noanswer', wrapUp: 0 },
  { id: 'n-2', extension: '1302', site: 'rathaus', department: 'noanswer', wrapUp: 0 },
  { id: 'k-1', extension: '1401', site: 'rathaus', department: 'kill', wrapUp: 0 },
  { id: 'f-1', extension: '1501', site: 'rathaus', department: 'fallback', wrapUp: 0 },
  { id: 'l-1', extension: '2001', site: 'schule', department: 'schule', wrapUp: 0 },
  { id: 'c-1', extension: '1601', site: 'rathaus', department: 'rueckruf', wrapUp: 0 },
  { id: 'c-2', extension: '1602', site: 'feiertag', department: 'spaet', wrapUp: 0 },
  // Their desk phones answer busy (SIP 486); y-busy becomes free before y-free, so it is dialled first.
  { id: 'x-busy', extension: '1701', site: 'rathaus', department: 'besetzt', wrapUp: 0 },
  { id: 'y-busy', extension: '1801', site: 'rathaus', department: 'teilweise', wrapUp: 0 },
  { id: 'y-free', extension: '1802', site: 'rathaus', department: 'teilweise', wrapUp: 0 },
  { id: 'w-1', extension: '1951', site: 'rathaus', department: 'warte', wrapUp: 0 },
  // Ring-all: five phones ring at once for one caller.
  ...[1, 2, 3, 4, 5].map((index) => ({
    id: `r-${index}`,
    extension: `190${index}`,
    site: 'rathaus',
    department: 'alle',
    wrapUp: 0,
  })),
];

export const device = (staff: StaffSpec | string) =>
  `rt-${typeof staff === 'string' ? STAFF.find((member) => member.id === staff)!.extension : staff.extension}`;

function site(siteId: string, openingHours: Array<{ day: string; from: string; to: string }>, closingDays: string[]) {
  return {
    siteId,
    name: `Site ${siteId}`,
    kind: 'town-hall',
    municipality: 'Kropp',
    address: { street: 'Am Markt 1', postalCode: '24848', city: 'Kropp' },
    headcount: 5,
    openingHours,
    closingDays: closingDays.map((date) => ({ date, reason: 'Betriebsausflug' })),
  };
}

function department(
  departmentId: string,
  ringTimeoutSeconds = 5,
  overflow = { kind: 'none', target: '' },
  maxWaitSeconds = 600,
  siteId = 'rathaus',
) {
  return {
    departmentId,
    name: `Department ${departmentId}`,
    siteId,
    members: STAFF.filter((member) => member.department === departmentId).map((member) => ({
      staffId: member.id,
      priority: 0,
    })),
    strategy: 'longest-idle',
    ringTimeoutSeconds,
    wrapUpSeconds: STAFF.find((member) => member.department === departmentId)?.wrapUp ?? 0,
    maxWaitSeconds,
    overflow,
  };
}

export function tenantDocument(now = new Date()) {
  const tomorrow = new Date(now.getTime() + 86_400_000);
  const allWeek = DAYS.map((day) => ({ day, from: '00:00', to: '24:00' }));
  const awayDays = new Set([berlinDay(now), berlinDay(tomorrow)]);
  const otherDay = DAYS.find((day) => !awayDays.has(day))!;
  const number = (value: string, siteId: string, kind: string, target: string) => ({
    number: value,
    kind: 'main',
    siteId,
    entryPoint: { kind, target },
  });
  return {
    tenant: { tenantId: TENANT, name: 'Testamt', federalState: 'SH', timeZone: 'Europe/Berlin', closingDays: [] },
    sites: [
      site('rathaus', allWeek, []),
      // The school's phones may not call abroad (the tenant's default policy allows it elsewhere).
      {
        ...site('schule', allWeek, []),
        outboundOverride: { barInternational: true },
      },
      site('nachts', [{ day: otherDay, from: '08:00', to: '09:00' }], []),
      site('feiertag', allWeek, [berlinDate(now), berlinDate(tomorrow)]),
    ],
    numbers: [
      number(NUMBERS.ivr, 'rathaus', 'ivr-menu', 'main-menu'),
      number(NUMBERS.buergerbuero, 'rathaus', 'department', 'buergerbuero'),
      number(NUMBERS.closedIvr, 'nachts', 'ivr-menu', 'main-menu'),
      number(NUMBERS.holidayIvr, 'feiertag', 'ivr-menu', 'main-menu'),
      number(NUMBERS.homeOffice, 'rathaus', 'department', 'homeoffice'),
      number(NUMBERS.noAnswer, 'rathaus', 'department', 'noanswer'),
      number(NUMBERS.kill, 'rathaus', 'department', 'kill'),
      number(NUMBERS.schoolMain, 'schule', 'department', 'schule'),
      number(NUMBERS.overflow, 'rathaus', 'department', 'overflow-src'),
      number(NUMBERS.callback, 'rathaus', 'department', 'callback-src'),
      number(NUMBERS.brokenMenu, 'rathaus', 'ivr-menu', 'no-such-menu'),
      number(NUMBERS.rueckruf, 'rathaus', 'department', 'rueckruf'),
      number(NUMBERS.busy, 'rathaus', 'department', 'besetzt'),
      number(NUMBERS.partlyBusy, 'rathaus', 'department', 'teilweise'),
      number(NUMBERS.closedDepartment, 'rathaus', 'department', 'abend'),
      number(NUMBERS.closing, 'rathaus', 'department', 'schliesst'),
      number(NUMBERS.ringAll, 'rathaus', 'department', 'alle'),
      number(NUMBERS.waiting, 'rathaus', 'department', 'warte'),
      number(NUMBERS.callbackKey, 'rathaus', 'department', 'rueckwunsch'),
      number(NUMBERS.closingTime, 'rathaus', 'department', 'feierabend'),
      number(NUMBERS.takeover, 'rathaus', 'ivr-menu', 'wahl'),
    ],
    departments: [
      department('standesamt'),
      department('buergerbuero', 10),
      department('homeoffice'),
      department('noanswer'),
      department('kill'),
      department('fallback'),
      department('schule'),
      // Nobody is a member: callers wait their one second, then overflow.
      department('overflow-src', 5, { kind: 'department', target: 'fallback' }, 1),
      department('callback-src', 5, { kind: 'callback', target: '' }, 1),
      // Callbacks dialled back: its agent is away when the caller overflows.
      department('rueckruf', 5, { kind: 'callback', target: '' }, 1),
      // At the site with today as a closing day: callbacks wait until it opens.
      department('spaet', 5, { kind: 'callback', target: '' }, 600, 'feiertag'),
      department('besetzt'),
      department('teilweise'),
      // Its own hours (one hour on a day that is neither today nor tomorrow) override the site's;
      // closed callers leave a message in its voicemail box.
      {
        ...department('abend'),
        openingHours: [{ day: otherDay, from: '08:00', to: '09:00' }],
        closedTarget: { kind: 'voicemail', target: 'abend' },
      },
      // Nobody is a member: callers wait until a test closes it; closed callers go to fallback.
      { ...department('schliesst'), closedTarget: { kind: 'department', target: 'fallback' } },
      { ...department('alle', 10), strategy: 'ring-all' },
      // One agent: callers queue behind each other and learn their position and expected wait.
      department('warte'),
      // Nobody is a member: waiting callers may press 5 for a callback that keeps their place.
      { ...department('rueckwunsch'), callbackKey: '5' },
      // Nobody is a member; a test gives it hours that end while a caller waits.
      { ...department('feierabend'), closedTarget: { kind: 'voicemail', target: 'feierabend' } },
    ],
    staff: STAFF.map((member) => ({
      staffId: member.id,
      displayName: `Staff ${member.id}`,
      extension: member.extension,
      devices: [device(member)],
      skills: [],
      siteId: member.site,
      homeOffice: member.homeOffice ?? false,
      homeOfficeNumber: member.homeOffice ? HOME_NUMBER : '',
    })),
  };
}

const { TargetKind } = ivrServiceV1;

function menu(menuId: string, prompts: string[], extra: Partial<ivrServiceV1.Menu>): ivrServiceV1.Menu {
  return ivrServiceV1.Menu.fromPartial({
    tenantId: TENANT,
    menuId,
    name: menuId,
    language: 'de',
    prompts,
    timeoutMs: 1_000,
    interDigitTimeoutMs: 1_000,
    bargeIn: true,
    maxRetries: 0,
    fallback: { kind: TargetKind.TARGET_KIND_VOICEMAIL, ref: 'standesamt' },
    ...extra,
  });
}

export const MENUS = [
  menu('main-menu', ['sound:switchboard/main-menu'], {
    entry: true,
    // Long enough for the emulated caller's digit to come after the prompt on a busy machine.
    timeoutMs: 15_000,
    options: [{ digits: '2', target: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'standesamt' } }],
    fallback: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'fallback' },
    hours: {
      closed: { kind: TargetKind.TARGET_KIND_SUBMENU, ref: 'closed-menu' },
      holiday: { kind: TargetKind.TARGET_KIND_SUBMENU, ref: 'holiday-menu' },
    },
  }),
  // Two menus deep, each choice leading elsewhere: a replica killed between the two keys must
  // still bring the caller to the department of both (1 then 3: kill), not a fallback.
  menu('wahl', ['sound:switchboard/main-menu'], {
    entry: true,
    timeoutMs: 15_000,
    options: [
      { digits: '1', target: { kind: TargetKind.TARGET_KIND_SUBMENU, ref: 'wahl-2' } },
      { digits: '2', target: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'standesamt' } },
    ],
    fallback: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'fallback' },
  }),
  menu('wahl-2', ['sound:switchboard/kropp/main-menu'], {
    timeoutMs: 15_000,
    options: [
      { digits: '3', target: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'kill' } },
      { digits: '4', target: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'standesamt' } },
    ],
    fallback: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'fallback' },
  }),
  menu('closed-menu', ['sound:switchboard/closed'], {}),
  menu('holiday-menu', ['sound:switchboard/holiday'], {}),
];

/** Loads the tenant into directory and ivr, and its agents (available, in list order) into presence. */
export async function loadTenant(stack: Stack, available: (staffId: string) => boolean): Promise<void> {
  await stack.directory.importTenant({ tenantId: TENANT, document: JSON.stringify(tenantDocument()) });
  await stack.ivr.saveMenus({ tenantId: TENANT, menus: MENUS, deleteMenuIds: [], expectedRevision: '0' });
  for (const member of STAFF) {
    await stack.presence.upsertAgent({
      tenantId: TENANT,
      agentId: member.id,
      displayName: member.id,
      departments: [{ departmentId: member.department, wrapUpSeconds: member.wrapUp }],
      skills: [],
      devices: [`PJSIP/${device(member)}`],
      homeOfficeNumber: member.homeOffice ? HOME_NUMBER : '',
    });
    if (member.homeOffice) {
      await stack.presence.setHomeOffice({ tenantId: TENANT, agentId: member.id, enabled: true, homeOfficeNumber: '' });
    }
    if (available(member.id)) {
      await stack.presence.setState({
        tenantId: TENANT,
        agentId: member.id,
        state: presenceV1.AgentState.AGENT_STATE_AVAILABLE,
      });
    }
  }
}
