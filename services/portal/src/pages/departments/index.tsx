import type { directoryV1 } from '@switchboard/proto';
import { CsrfField, ErrorSummary, Field, Select, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { FormCheck, formFields, jsonBody, savedFlag } from '../../forms.js';
import { translator } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, departmentScope, param, sessionOf, type PortalPage } from '../../routes.js';
import { messages } from './messages.js';
import {
  applyChange,
  DAYS,
  departmentView,
  formatDayHours,
  getDepartment,
  OVERFLOWS,
  parseDayHours,
  readQueueSettings,
  staffNames,
  STRATEGIES,
  visibleDepartments,
  type DepartmentChange,
  type DepartmentView,
} from './model.js';

const READERS = ['admin', 'operator', 'supervisor'] as const;

type T = ReturnType<typeof translator<keyof (typeof messages)['de']>>;

/** Names for display; a supervisor without presence reachable sees ids rather than an error page. */
async function namesFor(c: PortalContext, departmentIds: readonly string[]): Promise<Map<string, string>> {
  try {
    return await staffNames(c, departmentIds);
  } catch (error) {
    if (departmentScope(c) && error instanceof PortalError && error.status === 503) return new Map();
    throw error;
  }
}

async function listDepartments(c: PortalContext): Promise<DepartmentView[]> {
  const departments = await visibleDepartments(c);
  const names = await namesFor(
    c,
    departments.map((department) => department.departmentId),
  );
  return departments.map((department) => departmentView(department, names));
}

async function loadDepartment(c: PortalContext, departmentId: string) {
  const department = await getDepartment(c, departmentId);
  const names = await namesFor(c, [departmentId]);
  return { department, names, view: departmentView(department, names) };
}

/**
 * An overflow or closed target: a kind, and for a department or voicemail its target (required);
 * `fields` names the form's or the JSON's fields for the errors.
 */
function readTarget(
  c: PortalContext,
  check: FormCheck,
  fields: { kind: string; target: string },
  kind: unknown,
  target: unknown,
): { kind: (typeof OVERFLOWS)[number]; target: string } | undefined {
  if (!(OVERFLOWS as readonly unknown[]).includes(kind)) {
    check.fail(fields.kind, OVERFLOWS.join(', '));
    return undefined;
  }
  const value = { kind: kind as (typeof OVERFLOWS)[number], target: check.text(fields.target, target) };
  if ((value.kind === 'department' || value.kind === 'voicemail') && !value.target) {
    check.fail(fields.target, commonText(c)('error.required'));
  }
  return value;
}

/** Reads the edit form: queue settings, overflow, members (priority, remove, add), hours per day. */
function readForm(c: PortalContext, fields: Record<string, string>, current: DepartmentView) {
  const t = translator(messages, c.var.language);
  const check = new FormCheck(commonText(c));
  const change = readQueueSettings(check, fields);
  change.overflow = readTarget(
    c,
    check,
    { kind: 'overflowKind', target: 'overflowTarget' },
    fields['overflowKind'],
    fields['overflowTarget'],
  );
  change.closedTarget = readTarget(
    c,
    check,
    { kind: 'closedKind', target: 'closedTarget' },
    fields['closedKind'],
    fields['closedTarget'],
  );
  const members = current.members
    .filter((member) => fields[`remove-${member.staffId}`] !== 'on')
    .map((member) => ({
      staffId: member.staffId,
      priority: check.integer(`priority-${member.staffId}`, fields[`priority-${member.staffId}`] ?? '0', 0, 100),
    }));
  const added = (fields['addMember'] ?? '').trim();
  if (added) {
    if (departmentScope(c)) check.fail('addMember', commonText(c)('error.forbidden'));
    else if (!members.some((member) => member.staffId === added)) members.push({ staffId: added, priority: 0 });
  }
  change.members = members;
  const hours: NonNullable<DepartmentChange['openingHours']> = [];
  for (const day of DAYS) {
    const parsed = parseDayHours(day, fields[`hours-${day}`] ?? '');
    if (parsed) hours.push(...parsed);
    else check.fail(`hours-${day}`, t('hoursInvalid'));
  }
  change.openingHours = hours;
  return { check, change };
}

/** The JSON API's change: any of the fields, checked the same way. */
function readJson(c: PortalContext, body: Record<string, unknown>) {
  const t = translator(messages, c.var.language);
  const check = new FormCheck(commonText(c));
  const change = readQueueSettings(check, body);
  for (const name of ['overflow', 'closedTarget'] as const) {
    const value = body[name] as { kind?: unknown; target?: unknown } | undefined;
    if (value !== undefined) {
      change[name] = readTarget(
        c,
        check,
        { kind: `${name}.kind`, target: `${name}.target` },
        value?.kind,
        value?.target,
      );
    }
  }
  if (body['members'] !== undefined) {
    const members = Array.isArray(body['members'])
      ? (body['members'] as { staffId?: unknown; priority?: unknown }[])
      : [];
    change.members = members.map((member, index) => ({
      staffId: check.text(`members.${index}.staffId`, member?.staffId, true),
      priority: check.integer(`members.${index}.priority`, member?.priority ?? 0, 0, 100),
    }));
  }
  if (body['openingHours'] !== undefined) {
    const intervals = Array.isArray(body['openingHours']) ? (body['openingHours'] as Record<string, unknown>[]) : [];
    change.openingHours = [];
    intervals.forEach((interval, index) => {
      const day = interval?.['day'];
      const parsed = (DAYS as readonly unknown[]).includes(day)
        ? parseDayHours(day as (typeof DAYS)[number], `${String(interval['from'])}-${String(interval['to'])}`)
        : undefined;
      if (parsed?.length === 1) change.openingHours!.push(parsed[0]!);
      else check.fail(`openingHours.${index}`, t('hoursInvalid'));
    });
  }
  return { check, change };
}

async function save(c: PortalContext, department: directoryV1.Department, change: DepartmentChange) {
  if (change.members && departmentScope(c)) {
    const before = new Set(department.members.map((member) => member.staffId));
    if (change.members.some((member) => !before.has(member.staffId))) {
      throw new PortalError(403, 'error.forbidden', {}, 'a department lead may not add members');
    }
  }
  const { department: saved } = await api(c).directory.updateDepartment({
    tenantId: c.var.tenantId,
    department: applyChange(department, change),
  });
  return saved ?? department;
}

function strategyText(t: T, view: DepartmentView) {
  return t(`strategy.${view.strategy}`);
}

function listPage(c: PortalContext, departments: DepartmentView[]) {
  const t = translator(messages, c.var.language);
  return render(c, {
    title: t('title'),
    body: (
      <>
        <p>
          <a href="/personal">{t('staffLink')}</a>
        </p>
        {departments.length ? (
          <table>
            <caption>{t('caption', { count: departments.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('name')}</th>
                <th scope="col">{t('members')}</th>
                <th scope="col">{t('strategy')}</th>
                <th scope="col">{t('ringTimeout')}</th>
                <th scope="col">{t('maxWait')}</th>
                <th scope="col">{t('overflow')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('edit')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {departments.map((department) => (
                <tr>
                  <th scope="row">{department.name}</th>
                  <td>{department.members.map((member) => member.name).join(', ') || '–'}</td>
                  <td>{strategyText(t, department)}</td>
                  <td>{department.ringTimeoutSeconds}</td>
                  <td>{department.maxWaitSeconds}</td>
                  <td>
                    {t(`overflow.${department.overflow.kind}`)}
                    {department.overflow.target ? ` (${department.overflow.target})` : ''}
                  </td>
                  <td>
                    <a
                      href={`/abteilungen/${encodeURIComponent(department.departmentId)}`}
                      aria-label={`${t('edit')}: ${department.name}`}
                    >
                      {t('edit')}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{t('none')}</p>
        )}
      </>
    ),
  });
}

async function editPage(
  c: PortalContext,
  view: DepartmentView,
  values: Record<string, string>,
  errors: FieldErrors = {},
) {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const mayAdd = !departmentScope(c);
  const candidates = mayAdd
    ? [...(await staffNames(c, []))]
        .filter(([staffId]) => !view.members.some((member) => member.staffId === staffId))
        .sort(([, a], [, b]) => a.localeCompare(b, 'de'))
    : [];
  const labels: Record<string, string> = {
    strategy: t('strategy'),
    ringTimeoutSeconds: t('ringTimeout'),
    wrapUpSeconds: t('wrapUp'),
    maxWaitSeconds: t('maxWait'),
    tierDelaySeconds: t('tierDelay'),
    callbackKey: t('callbackKey'),
    overflowKind: t('overflowKind'),
    closedKind: t('closedKind'),
    closedTarget: t('overflowTarget'),
    overflowTarget: t('overflowTarget'),
    addMember: t('addMember'),
    ...Object.fromEntries(
      view.members.map((member) => [`priority-${member.staffId}`, t('priority', { name: member.name })]),
    ),
    ...Object.fromEntries(DAYS.map((day) => [`hours-${day}`, t(`day.${day}`)])),
  };
  return render(c, {
    title: t('editTitle', { name: view.name }),
    status: savedFlag(c) ? common('saved') : undefined,
    httpStatus: Object.keys(errors).length ? 422 : 200,
    body: (
      <>
        <ErrorSummary
          title={common('formHasErrors', { count: Object.keys(errors).length })}
          errors={errors}
          labels={labels}
        />
        <form method="post" action={`/abteilungen/${encodeURIComponent(view.departmentId)}`} novalidate>
          <CsrfField token={sessionOf(c).csrfToken} />
          <fieldset>
            <legend>{t('queue')}</legend>
            <Select
              name="strategy"
              label={labels['strategy']!}
              value={values['strategy'] ?? ''}
              options={STRATEGIES.map((strategy) => ({ value: strategy, label: t(`strategy.${strategy}`) }))}
              error={errors['strategy']}
            />
            <Field
              name="ringTimeoutSeconds"
              type="number"
              label={labels['ringTimeoutSeconds']!}
              hint={t('ringTimeoutHint')}
              value={values['ringTimeoutSeconds']}
              error={errors['ringTimeoutSeconds']}
              min={5}
              max={600}
              required
            />
            <Field
              name="wrapUpSeconds"
              type="number"
              label={labels['wrapUpSeconds']!}
              hint={t('wrapUpHint')}
              value={values['wrapUpSeconds']}
              error={errors['wrapUpSeconds']}
              min={0}
              max={3600}
              required
            />
            <Field
              name="maxWaitSeconds"
              type="number"
              label={labels['maxWaitSeconds']!}
              hint={t('maxWaitHint')}
              value={values['maxWaitSeconds']}
              error={errors['maxWaitSeconds']}
              min={0}
              max={7200}
              required
            />
            <Field
              name="tierDelaySeconds"
              type="number"
              label={labels['tierDelaySeconds']!}
              hint={t('tierDelayHint')}
              value={values['tierDelaySeconds']}
              error={errors['tierDelaySeconds']}
              min={0}
              max={3600}
            />
            <Field
              name="callbackKey"
              label={labels['callbackKey']!}
              hint={t('callbackKeyHint')}
              value={values['callbackKey']}
              error={errors['callbackKey']}
            />
          </fieldset>
          <fieldset>
            <legend>{t('overflow')}</legend>
            <Select
              name="overflowKind"
              label={labels['overflowKind']!}
              value={values['overflowKind'] ?? 'none'}
              options={OVERFLOWS.map((kind) => ({ value: kind, label: t(`overflow.${kind}`) }))}
              error={errors['overflowKind']}
            />
            <Field
              name="overflowTarget"
              label={labels['overflowTarget']!}
              hint={t('overflowTargetHint')}
              value={values['overflowTarget']}
              error={errors['overflowTarget']}
            />
          </fieldset>
          <fieldset>
            <legend>{t('closed')}</legend>
            <Select
              name="closedKind"
              label={labels['closedKind']!}
              value={values['closedKind'] ?? 'none'}
              options={OVERFLOWS.map((kind) => ({ value: kind, label: t(`closed.${kind}`) }))}
              error={errors['closedKind']}
            />
            <Field
              name="closedTarget"
              label={labels['closedTarget']!}
              hint={t('overflowTargetHint')}
              value={values['closedTarget']}
              error={errors['closedTarget']}
            />
          </fieldset>
          <fieldset>
            <legend>{t('members')}</legend>
            {view.members.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('memberName')}</th>
                    <th scope="col">{t('priorityColumn')}</th>
                    <th scope="col">{t('removeColumn')}</th>
                  </tr>
                </thead>
                <tbody>
                  {view.members.map((member) => (
                    <tr>
                      <th scope="row">
                        <a href={`/personal/${encodeURIComponent(member.staffId)}`}>{member.name}</a>
                      </th>
                      <td>
                        <Field
                          name={`priority-${member.staffId}`}
                          type="number"
                          label={labels[`priority-${member.staffId}`]!}
                          value={values[`priority-${member.staffId}`]}
                          error={errors[`priority-${member.staffId}`]}
                          min={0}
                          max={99}
                        />
                      </td>
                      <td>
                        <input
                          type="checkbox"
                          id={`field-remove-${member.staffId}`}
                          name={`remove-${member.staffId}`}
                        />
                        <label for={`field-remove-${member.staffId}`}>{t('remove', { name: member.name })}</label>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p>{t('noMembers')}</p>
            )}
            <p class="hint">{t('priorityHint')}</p>
            {mayAdd ? (
              <Select
                name="addMember"
                label={labels['addMember']!}
                value=""
                options={[
                  { value: '', label: t('addNobody') },
                  ...candidates.map(([staffId, name]) => ({ value: staffId, label: name })),
                ]}
                error={errors['addMember']}
              />
            ) : (
              ''
            )}
          </fieldset>
          <fieldset>
            <legend>{t('hours')}</legend>
            <p class="hint" id="hours-hint">
              {t('hoursHint')}
            </p>
            {DAYS.map((day) => (
              <Field
                name={`hours-${day}`}
                label={labels[`hours-${day}`]!}
                value={values[`hours-${day}`]}
                error={errors[`hours-${day}`]}
              />
            ))}
          </fieldset>
          <div class="actions">
            <button type="submit">{common('save')}</button>
            <a href="/abteilungen">{t('back')}</a>
          </div>
        </form>
      </>
    ),
  });
}

function formValues(view: DepartmentView): Record<string, string> {
  return {
    strategy: view.strategy,
    ringTimeoutSeconds: String(view.ringTimeoutSeconds),
    wrapUpSeconds: String(view.wrapUpSeconds),
    maxWaitSeconds: String(view.maxWaitSeconds),
    tierDelaySeconds: String(view.tierDelaySeconds),
    callbackKey: view.callbackKey,
    overflowKind: view.overflow.kind,
    overflowTarget: view.overflow.target,
    closedKind: view.closedTarget.kind,
    closedTarget: view.closedTarget.target,
    ...Object.fromEntries(view.members.map((member) => [`priority-${member.staffId}`, String(member.priority)])),
    ...Object.fromEntries(DAYS.map((day) => [`hours-${day}`, formatDayHours(view.openingHours, day)])),
  };
}

/**
 * Departments: queue settings, overflow, members and priorities, opening hours. A department lead
 * sees and changes only their own departments (and adds no members: that is the administrator's).
 */
export const departmentsPage: PortalPage = {
  name: 'departments',
  nav: { path: '/abteilungen', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/abteilungen',
      allow: READERS,
      handler: async (c) => listPage(c, await listDepartments(c)),
    },
    {
      method: 'GET',
      path: '/abteilungen/:departmentId',
      allow: READERS,
      handler: async (c) => {
        const { view } = await loadDepartment(c, param(c, 'departmentId'));
        return editPage(c, view, formValues(view));
      },
    },
    {
      method: 'POST',
      path: '/abteilungen/:departmentId',
      allow: READERS,
      handler: async (c) => {
        const departmentId = param(c, 'departmentId');
        const { department, view } = await loadDepartment(c, departmentId);
        const fields = await formFields(c);
        const { check, change } = readForm(c, fields, view);
        if (!check.ok) return editPage(c, view, fields, check.errors);
        await save(c, department, change);
        return c.redirect(`/abteilungen/${encodeURIComponent(departmentId)}?gespeichert=1`, 303);
      },
    },
    {
      method: 'GET',
      path: '/api/departments',
      allow: READERS,
      handler: async (c) => c.json({ departments: await listDepartments(c) }),
    },
    {
      method: 'GET',
      path: '/api/departments/:departmentId',
      allow: READERS,
      handler: async (c) => c.json({ department: (await loadDepartment(c, param(c, 'departmentId'))).view }),
    },
    {
      method: 'PUT',
      path: '/api/departments/:departmentId',
      allow: READERS,
      handler: async (c) => {
        const { department, names } = await loadDepartment(c, param(c, 'departmentId'));
        const { check, change } = readJson(
          c,
          await jsonBody(
            c,
            '{ strategy?, ringTimeoutSeconds?, wrapUpSeconds?, maxWaitSeconds?, overflow?, members?, openingHours? }',
          ),
        );
        if (!check.ok) return check.toJson(c);
        return c.json({ department: departmentView(await save(c, department, change), names) });
      },
    },
  ],
};
