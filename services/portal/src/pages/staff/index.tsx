import { presenceV1, type directoryV1 } from '@switchboard/proto';
import { CsrfField, ErrorSummary, Field, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { forbidden, notFound } from '../../errors.js';
import { FormCheck, formFields, jsonBody, savedFlag } from '../../forms.js';
import { translator } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, assertSelf, departmentScope, param, sessionOf, type PortalPage } from '../../routes.js';
import { visibleDepartments } from '../departments/model.js';
import { messages } from './messages.js';

const EDITORS = ['admin', 'operator'] as const;
const PEOPLE = ['admin', 'operator', 'supervisor', 'agent'] as const;
const E164 = /^\+[1-9]\d{6,14}$/;
const DEVICE = /^[A-Za-z0-9._-]{1,64}$/;

const STATES: Record<number, string> = {
  [presenceV1.AgentState.AGENT_STATE_AVAILABLE]: 'available',
  [presenceV1.AgentState.AGENT_STATE_RINGING]: 'ringing',
  [presenceV1.AgentState.AGENT_STATE_ON_CALL]: 'on-call',
  [presenceV1.AgentState.AGENT_STATE_WRAP_UP]: 'wrap-up',
  [presenceV1.AgentState.AGENT_STATE_AWAY]: 'away',
  [presenceV1.AgentState.AGENT_STATE_OFFLINE]: 'offline',
  [presenceV1.AgentState.AGENT_STATE_PHONE_BUSY]: 'phone-busy',
};

export interface PersonView {
  staffId: string;
  name: string;
  extension: string;
  devices: string[];
  /** The stored number (the directory's, or presence's once set there). */
  homeOfficeNumber: string;
  /** Whether calls go to the home-office number now (presence: what routing dials). */
  homeOffice: boolean;
  state: string;
}

/** A supervisor may open members of their departments, an agent only themselves. */
async function assertPerson(c: PortalContext, staffId: string): Promise<void> {
  assertSelf(c, staffId);
  const scope = departmentScope(c);
  if (scope && sessionOf(c).user.role === 'supervisor') {
    const departments = await visibleDepartments(c);
    if (!departments.some((department) => department.members.some((member) => member.staffId === staffId))) {
      throw forbidden(`supervisor may not act on ${staffId}: not a member of their departments`);
    }
  }
}

const fromAgent = (agent: presenceV1.Agent): PersonView => ({
  staffId: agent.agentId,
  name: agent.displayName,
  extension: '',
  devices: agent.devices,
  homeOfficeNumber: agent.homeOfficeNumber,
  homeOffice: agent.homeOffice,
  state: STATES[agent.state] ?? 'unknown',
});

/** One person: the directory's record (administrators) joined with presence's live profile. */
async function loadPerson(c: PortalContext, staffId: string): Promise<PersonView> {
  await assertPerson(c, staffId);
  const tenantId = c.var.tenantId;
  const { agent } = await api(c).presence.getAgent({ tenantId, agentId: staffId });
  let staff: directoryV1.Staff | undefined;
  if (!departmentScope(c)) staff = (await api(c).directory.getStaff({ tenantId, staffId })).staff;
  if (!agent && !staff) throw notFound(`no staff member ${staffId}`);
  const live = agent ? fromAgent(agent) : undefined;
  return {
    staffId,
    name: staff?.displayName ?? live?.name ?? staffId,
    extension: staff?.extension ?? '',
    devices: staff?.devices ?? live?.devices ?? [],
    homeOfficeNumber: live?.homeOfficeNumber || staff?.homeOfficeNumber || '',
    homeOffice: live?.homeOffice ?? staff?.homeOffice ?? false,
    state: live?.state ?? 'unknown',
  };
}

/** Everyone the user may see: the tenant's staff with live state, or a supervisor's members. */
async function listPeople(c: PortalContext): Promise<PersonView[]> {
  const tenantId = c.var.tenantId;
  const scope = departmentScope(c);
  const people = new Map<string, PersonView>();
  if (scope) {
    for (const departmentId of scope) {
      const { agents } = await api(c).presence.listAgents({ tenantId, departmentId });
      for (const agent of agents) people.set(agent.agentId, fromAgent(agent));
    }
  } else {
    const [{ staff }, { agents }] = await Promise.all([
      api(c).directory.listStaff({ tenantId }),
      api(c).presence.listAgents({ tenantId, departmentId: '' }),
    ]);
    const live = new Map(agents.map((agent) => [agent.agentId, fromAgent(agent)]));
    for (const person of staff) {
      const agent = live.get(person.staffId);
      people.set(person.staffId, {
        staffId: person.staffId,
        name: person.displayName,
        extension: person.extension,
        devices: person.devices,
        homeOfficeNumber: agent?.homeOfficeNumber || person.homeOfficeNumber,
        homeOffice: agent?.homeOffice ?? person.homeOffice,
        state: agent?.state ?? 'unknown',
      });
    }
  }
  return [...people.values()].sort((a, b) => a.name.localeCompare(b.name, 'de'));
}

/** Devices and a stored number; `numberField` names the number's field in the errors. */
function readPhones(c: PortalContext, input: { devices: unknown; homeOfficeNumber: unknown }, numberField: string) {
  const t = translator(messages, c.var.language);
  const check = new FormCheck(commonText(c));
  const list = Array.isArray(input.devices) ? input.devices.map(String) : String(input.devices ?? '').split(',');
  const devices = list.map((device) => device.trim()).filter(Boolean);
  if (devices.some((device) => !DEVICE.test(device))) check.fail('devices', t('devicesInvalid'));
  const homeOfficeNumber = check.text(numberField, input.homeOfficeNumber);
  if (homeOfficeNumber && !E164.test(homeOfficeNumber)) check.fail(numberField, t('numberInvalid'));
  return { check, devices, homeOfficeNumber };
}

/** Devices and the stored home-office number are the directory's (presence follows its changes). */
async function savePhones(c: PortalContext, staffId: string, devices: string[], homeOfficeNumber: string) {
  const tenantId = c.var.tenantId;
  const { staff } = await api(c).directory.getStaff({ tenantId, staffId });
  if (!staff) throw notFound(`no staff member ${staffId}`);
  await api(c).directory.updateStaff({ tenantId, staff: { ...staff, devices, homeOfficeNumber } });
}

/**
 * Home office on or off through presence — the service whose reservations routing dials — so the
 * next call already follows the change.
 */
async function setHomeOffice(c: PortalContext, staffId: string, enabled: boolean, number: string): Promise<PersonView> {
  await assertPerson(c, staffId);
  const { agent } = await api(c).presence.setHomeOffice({
    tenantId: c.var.tenantId,
    agentId: staffId,
    enabled,
    homeOfficeNumber: number,
  });
  if (!agent) throw notFound(`no agent ${staffId}`);
  return loadPerson(c, staffId);
}

function readHomeOffice(c: PortalContext, input: { enabled: unknown; homeOfficeNumber: unknown }, person: PersonView) {
  const t = translator(messages, c.var.language);
  const check = new FormCheck(commonText(c));
  const enabled = input.enabled === true || input.enabled === 'on';
  const number = check.text('homeOfficeNumber', input.homeOfficeNumber);
  if (number && !E164.test(number)) check.fail('homeOfficeNumber', t('numberInvalid'));
  else if (enabled && !number && !person.homeOfficeNumber) check.fail('homeOfficeNumber', t('noNumber'));
  return { check, enabled, number };
}

function listPage(c: PortalContext, people: PersonView[]) {
  const t = translator(messages, c.var.language);
  return render(c, {
    title: t('title'),
    body: people.length ? (
      <table>
        <caption>{t('caption', { count: people.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('extension')}</th>
            <th scope="col">{t('devices')}</th>
            <th scope="col">{t('homeOffice')}</th>
            <th scope="col">{t('state')}</th>
          </tr>
        </thead>
        <tbody>
          {people.map((person) => (
            <tr>
              <th scope="row">
                <a href={`/personal/${encodeURIComponent(person.staffId)}`}>{person.name}</a>
              </th>
              <td>{person.extension || '–'}</td>
              <td>{person.devices.join(', ') || '–'}</td>
              <td>{person.homeOffice ? t('homeOfficeOn', { number: person.homeOfficeNumber }) : t('homeOfficeOff')}</td>
              <td>{t(`state.${person.state}` as 'state.unknown')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : (
      <p>{t('none')}</p>
    ),
  });
}

function personPage(
  c: PortalContext,
  person: PersonView,
  values: Record<string, string> = {},
  errors: FieldErrors = {},
) {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const mayEditPhones = !departmentScope(c);
  const path = `/personal/${encodeURIComponent(person.staffId)}`;
  const labels = {
    devices: t('devices'),
    storedHomeOfficeNumber: t('homeOfficeNumber'),
    homeOfficeNumber: t('numberForHomeOffice'),
  };
  return render(c, {
    title: t('personTitle', { name: person.name }),
    status: savedFlag(c) ? common('saved') : undefined,
    httpStatus: Object.keys(errors).length ? 422 : 200,
    body: (
      <>
        <ErrorSummary
          title={common('formHasErrors', { count: Object.keys(errors).length })}
          errors={errors}
          labels={labels}
        />
        <dl>
          <dt>{t('extension')}</dt>
          <dd>{person.extension || '–'}</dd>
          <dt>{t('state')}</dt>
          <dd>{t(`state.${person.state}` as 'state.unknown')}</dd>
        </dl>
        <form method="post" action={`${path}/homeoffice`} novalidate>
          <CsrfField token={sessionOf(c).csrfToken} />
          <fieldset>
            <legend>{t('homeOfficeLegend')}</legend>
            <p role="status" id="homeoffice-status">
              {person.homeOffice
                ? t('homeOfficeStatusOn', { number: person.homeOfficeNumber })
                : t('homeOfficeStatusOff')}
            </p>
            <input type="hidden" name="enabled" value={person.homeOffice ? 'off' : 'on'} />
            {person.homeOffice ? (
              ''
            ) : (
              <Field
                name="homeOfficeNumber"
                type="tel"
                label={labels.homeOfficeNumber}
                hint={t('homeOfficeNumberHint')}
                value={values['homeOfficeNumber'] ?? ''}
                error={errors['homeOfficeNumber']}
                autocomplete="tel"
              />
            )}
            <button type="submit">{person.homeOffice ? t('turnOff') : t('turnOn')}</button>
          </fieldset>
        </form>
        {mayEditPhones ? (
          <form method="post" action={path} novalidate>
            <CsrfField token={sessionOf(c).csrfToken} />
            <fieldset>
              <legend>{t('phones')}</legend>
              <Field
                name="devices"
                label={labels.devices}
                hint={t('devicesHint')}
                value={values['devices'] ?? person.devices.join(', ')}
                error={errors['devices']}
              />
              <Field
                name="storedHomeOfficeNumber"
                type="tel"
                label={labels.storedHomeOfficeNumber}
                hint={t('homeOfficeNumberHint')}
                value={values['storedHomeOfficeNumber'] ?? person.homeOfficeNumber}
                error={errors['storedHomeOfficeNumber']}
              />
              <button type="submit">{common('save')}</button>
            </fieldset>
          </form>
        ) : (
          ''
        )}
        {sessionOf(c).user.role === 'agent' ? (
          ''
        ) : (
          <p>
            <a href="/personal">{t('back')}</a>
          </p>
        )}
      </>
    ),
  });
}

/**
 * Staff: a person's devices and stored home-office number (administrators, in the directory) and
 * home office on/off (presence; also a department lead for their members and a person for
 * themselves).
 */
export const staffPage: PortalPage = {
  name: 'staff',
  nav: { path: '/mein-arbeitsplatz', label: { de: messages.de.myLabel, en: messages.en.myLabel } },
  routes: [
    {
      method: 'GET',
      path: '/mein-arbeitsplatz',
      allow: ['agent'],
      handler: (c) => c.redirect(`/personal/${encodeURIComponent(sessionOf(c).user.subject)}`, 303),
    },
    {
      method: 'GET',
      path: '/personal',
      allow: PEOPLE,
      handler: async (c) => {
        if (sessionOf(c).user.role === 'agent') return c.redirect('/mein-arbeitsplatz', 303);
        return listPage(c, await listPeople(c));
      },
    },
    {
      method: 'GET',
      path: '/personal/:staffId',
      allow: PEOPLE,
      handler: async (c) => personPage(c, await loadPerson(c, param(c, 'staffId'))),
    },
    {
      method: 'POST',
      path: '/personal/:staffId',
      allow: EDITORS,
      handler: async (c) => {
        const staffId = param(c, 'staffId');
        const fields = await formFields(c);
        const { check, devices, homeOfficeNumber } = readPhones(
          c,
          { devices: fields['devices'], homeOfficeNumber: fields['storedHomeOfficeNumber'] },
          'storedHomeOfficeNumber',
        );
        if (!check.ok) return personPage(c, await loadPerson(c, staffId), fields, check.errors);
        await savePhones(c, staffId, devices, homeOfficeNumber);
        return c.redirect(`/personal/${encodeURIComponent(staffId)}?gespeichert=1`, 303);
      },
    },
    {
      method: 'POST',
      path: '/personal/:staffId/homeoffice',
      allow: PEOPLE,
      handler: async (c) => {
        const staffId = param(c, 'staffId');
        const person = await loadPerson(c, staffId);
        const fields = await formFields(c);
        const { check, enabled, number } = readHomeOffice(
          c,
          { enabled: fields['enabled'], homeOfficeNumber: fields['homeOfficeNumber'] },
          person,
        );
        if (!check.ok)
          return personPage(c, person, { homeOfficeNumber: fields['homeOfficeNumber'] ?? '' }, check.errors);
        await setHomeOffice(c, staffId, enabled, number);
        return c.redirect(`/personal/${encodeURIComponent(staffId)}?gespeichert=1`, 303);
      },
    },
    {
      method: 'GET',
      path: '/api/staff',
      allow: ['admin', 'operator', 'supervisor'],
      handler: async (c) => c.json({ staff: await listPeople(c) }),
    },
    {
      method: 'GET',
      path: '/api/staff/:staffId',
      allow: PEOPLE,
      handler: async (c) => c.json({ person: await loadPerson(c, param(c, 'staffId')) }),
    },
    {
      method: 'PUT',
      path: '/api/staff/:staffId',
      allow: EDITORS,
      handler: async (c) => {
        const staffId = param(c, 'staffId');
        const body = await jsonBody(c, '{ devices: string[], homeOfficeNumber: string }');
        const { check, devices, homeOfficeNumber } = readPhones(
          c,
          { devices: body['devices'], homeOfficeNumber: body['homeOfficeNumber'] },
          'homeOfficeNumber',
        );
        if (!check.ok) return check.toJson(c);
        await savePhones(c, staffId, devices, homeOfficeNumber);
        return c.json({ person: await loadPerson(c, staffId) });
      },
    },
    {
      method: 'PUT',
      path: '/api/staff/:staffId/home-office',
      allow: PEOPLE,
      handler: async (c) => {
        const staffId = param(c, 'staffId');
        const person = await loadPerson(c, staffId);
        const body = await jsonBody(c, '{ enabled: boolean, homeOfficeNumber?: string }');
        const { check, enabled, number } = readHomeOffice(
          c,
          { enabled: body['enabled'], homeOfficeNumber: body['homeOfficeNumber'] },
          person,
        );
        if (!check.ok) return check.toJson(c);
        return c.json({ person: await setHomeOffice(c, staffId, enabled, number) });
      },
    },
  ],
};
