import { directoryV1 } from '@switchboard/proto';
import { CsrfField, ErrorSummary, Field, Select, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { translator, type Translate } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, sessionOf, type PortalPage } from '../../routes.js';
import { hoursMessages as messages } from './hours-messages.js';

// Opening hours and holidays as the directory keeps them: the tenant's federal state (its public
// holidays), the tenant's and each site's closing days, and each site's weekly hours. Changes go
// through UpdateTenant / UpdateSite, so the directory validates (dates, ranges, yearly ranges)
// and audits them; its refusals are shown beside the field they name.

const ROLES = ['admin', 'operator'] as const;
type T = Translate<keyof (typeof messages)['de']>;

/** German federal states (ISO 3166-2:DE suffixes) as the directory takes them. */
const FEDERAL_STATES: Readonly<Record<string, string>> = {
  BW: 'Baden-Württemberg',
  BY: 'Bayern',
  BE: 'Berlin',
  BB: 'Brandenburg',
  HB: 'Bremen',
  HH: 'Hamburg',
  HE: 'Hessen',
  MV: 'Mecklenburg-Vorpommern',
  NI: 'Niedersachsen',
  NW: 'Nordrhein-Westfalen',
  RP: 'Rheinland-Pfalz',
  SL: 'Saarland',
  SN: 'Sachsen',
  ST: 'Sachsen-Anhalt',
  SH: 'Schleswig-Holstein',
  TH: 'Thüringen',
};
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** "Mo 08:00–12:00, 14:00–16:00; Di …" */
export function hoursText(t: T, intervals: readonly directoryV1.OpeningInterval[]): string {
  const byDay = new Map<number, string[]>();
  for (const interval of intervals) {
    byDay.set(interval.day, [...(byDay.get(interval.day) ?? []), `${interval.from}–${interval.to}`]);
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, spans]) => `${t(DAYS[day - 1] ?? 'mon')} ${spans.join(', ')}`)
    .join('; ');
}

function dayText(t: T, day: directoryV1.ClosingDay): string {
  const span = day.until ? `${day.date} – ${day.until}` : day.date;
  return `${span}${day.reason ? ` ${day.reason}` : ''}${day.yearly ? ` (${t('yearlyMark')})` : ''}`;
}

/**
 * Which field a directory refusal names: `tenant.closingDays[2].until: must not be before date`
 * → `until`; anything else (a federal state) → `federalState` or the date.
 */
export function fieldOfRefusal(reason: string): string {
  const match = /closingDays\[\d+\]\.(date|until|reason)/.exec(reason);
  if (match) return match[1]!;
  return /federalState/.test(reason) ? 'federalState' : 'date';
}

/** `tenant` or `site:<id>` as the form names where a closing day applies. */
type Scope = { kind: 'tenant' } | { kind: 'site'; siteId: string };
const scopeOf = (value: string): Scope | undefined =>
  value === 'tenant'
    ? { kind: 'tenant' }
    : /^site:(.+)$/.test(value)
      ? { kind: 'site', siteId: value.slice(5) }
      : undefined;

async function load(c: PortalContext) {
  const tenantId = c.var.tenantId;
  const [{ tenant }, { sites }] = await Promise.all([
    api(c).directory.getTenant({ tenantId }),
    api(c).directory.listSites({ tenantId }),
  ]);
  if (!tenant) throw new PortalError(404, 'error.notFound', {}, `tenant ${tenantId} not found`);
  return { tenant, sites };
}

/** Changes the closing days of the tenant or one site (whole entity replaced, as the directory's update is). */
async function changeClosingDays(
  c: PortalContext,
  scope: Scope,
  change: (days: directoryV1.ClosingDay[]) => directoryV1.ClosingDay[],
): Promise<void> {
  const tenantId = c.var.tenantId;
  if (scope.kind === 'tenant') {
    const { tenant } = await api(c).directory.getTenant({ tenantId });
    await api(c).directory.updateTenant({ tenantId, tenant: { ...tenant!, closingDays: change(tenant!.closingDays) } });
    return;
  }
  const { site } = await api(c).directory.getSite({ tenantId, siteId: scope.siteId });
  await api(c).directory.updateSite({ tenantId, site: { ...site!, closingDays: change(site!.closingDays) } });
}

interface DayForm {
  scope: string;
  date: string;
  until: string;
  reason: string;
  yearly: boolean;
}

async function page(c: PortalContext, state: { form?: DayForm; errors?: FieldErrors; status?: string } = {}) {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const { tenant, sites } = await load(c);
  const errors = state.errors ?? {};
  const form = state.form ?? { scope: 'tenant', date: '', until: '', reason: '', yearly: false };
  const csrf = sessionOf(c).csrfToken;
  const labels = {
    federalState: t('federalState'),
    scope: t('scope'),
    date: t('date'),
    until: t('until'),
    reason: t('reason'),
  };
  const scopes = [
    { value: 'tenant', label: t('scopeTenant') },
    ...sites.map((site) => ({ value: `site:${site.siteId}`, label: site.name })),
  ];
  const removeButton = (scope: string, where: string, index: number, day: directoryV1.ClosingDay) => (
    <form method="post" action="/oeffnungszeiten/schliesstage/entfernen">
      <CsrfField token={csrf} />
      <input type="hidden" name="scope" value={scope} />
      <input type="hidden" name="index" value={String(index)} />
      <input type="hidden" name="date" value={day.date} />
      <button type="submit" aria-label={t('removeOf', { date: day.date, where })}>
        {t('remove')}
      </button>
    </form>
  );
  const count = Object.keys(errors).length;
  return render(c, {
    title: t('title'),
    status: state.status,
    httpStatus: count > 0 ? 422 : 200,
    body: (
      <>
        <p>{t('intro')}</p>
        <ErrorSummary title={common('formHasErrors', { count })} errors={errors} labels={labels} />
        <h2>{t('stateTitle')}</h2>
        <form method="post" action="/oeffnungszeiten/bundesland">
          <CsrfField token={csrf} />
          <Select
            name="federalState"
            label={labels.federalState}
            value={tenant.federalState}
            options={Object.entries(FEDERAL_STATES).map(([value, label]) => ({ value, label }))}
            error={errors['federalState']}
          />
          <button type="submit">{t('saveState')}</button>
        </form>
        <h2 id="schliesstage">{t('closingTitle')}</h2>
        {tenant.closingDays.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <ul>
            {tenant.closingDays.map((day, index) => (
              <li>
                {dayText(t, day)} {removeButton('tenant', t('scopeTenant'), index, day)}
              </li>
            ))}
          </ul>
        )}
        <form method="post" action="/oeffnungszeiten/schliesstage">
          <CsrfField token={csrf} />
          <Select name="scope" label={labels.scope} value={form.scope} options={scopes} error={errors['scope']} />
          <Field
            name="date"
            label={labels.date}
            value={form.date}
            hint={t('dateHint')}
            error={errors['date']}
            required
          />
          <Field name="until" label={labels.until} value={form.until} hint={t('dateHint')} error={errors['until']} />
          <Field
            name="reason"
            label={labels.reason}
            value={form.reason}
            hint={t('reasonHint')}
            error={errors['reason']}
          />
          <div class="field">
            <input type="checkbox" id="field-yearly" name="yearly" value="on" checked={form.yearly} />{' '}
            <label for="field-yearly">{t('yearly')}</label>
          </div>
          <button type="submit">{t('add')}</button>
        </form>
        <h2>{t('sitesTitle')}</h2>
        <table>
          <caption>{t('sitesTitle')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('site')}</th>
              <th scope="col">{t('hours')}</th>
              <th scope="col">{t('closingDays')}</th>
            </tr>
          </thead>
          <tbody>
            {sites.map((site) => (
              <tr>
                <th scope="row">{site.name}</th>
                <td>{site.openingHours.length ? hoursText(t, site.openingHours) : t('noHours')}</td>
                <td>
                  {site.closingDays.length === 0 ? (
                    '–'
                  ) : (
                    <ul class="plain">
                      {site.closingDays.map((day, index) => (
                        <li>
                          {dayText(t, day)} {removeButton(`site:${site.siteId}`, site.name, index, day)}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </>
    ),
  });
}

/** The directory's refusal (bad input) as a field error, or rethrown. */
function refusal(error: unknown): FieldErrors {
  if (error instanceof PortalError && error.status === 400) {
    const reason = String(error.values['reason'] ?? error.message);
    return { [fieldOfRefusal(reason)]: reason };
  }
  throw error;
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

/** Adds a closing day; the directory validates it with the whole tenant or site. */
async function addDay(c: PortalContext, form: DayForm): Promise<void> {
  const scope = scopeOf(form.scope);
  if (!scope) throw new PortalError(400, 'error.invalid', { reason: 'scope' }, `no scope ${form.scope}`);
  await changeClosingDays(c, scope, (days) => [
    ...days,
    { date: form.date, until: form.until, reason: form.reason, yearly: form.yearly },
  ]);
}

/** Removes the closing day at `index` if it is still the one for `date` (nothing else is removed). */
async function removeDay(c: PortalContext, scopeValue: string, index: number, date: string): Promise<boolean> {
  const scope = scopeOf(scopeValue);
  if (!scope) throw new PortalError(400, 'error.invalid', { reason: 'scope' }, `no scope ${scopeValue}`);
  let removed = false;
  await changeClosingDays(c, scope, (days) => {
    if (days[index]?.date !== date) return days;
    removed = true;
    return days.filter((_day, at) => at !== index);
  });
  return removed;
}

export const hoursPage: PortalPage = {
  name: 'opening-hours',
  nav: { path: '/oeffnungszeiten', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/oeffnungszeiten',
      allow: ROLES,
      handler: (c) =>
        page(c, { status: c.req.query('gespeichert') ? translator(messages, c.var.language)('saved') : undefined }),
    },
    {
      method: 'POST',
      path: '/oeffnungszeiten/bundesland',
      allow: ROLES,
      handler: async (c) => {
        const federalState = text((await c.req.parseBody())['federalState']);
        const tenantId = c.var.tenantId;
        try {
          const { tenant } = await api(c).directory.getTenant({ tenantId });
          await api(c).directory.updateTenant({ tenantId, tenant: { ...tenant!, federalState } });
        } catch (error) {
          return page(c, { errors: refusal(error) });
        }
        return c.redirect('/oeffnungszeiten?gespeichert=1', 303);
      },
    },
    {
      method: 'POST',
      path: '/oeffnungszeiten/schliesstage',
      allow: ROLES,
      handler: async (c) => {
        const body = await c.req.parseBody();
        const form: DayForm = {
          scope: text(body['scope']),
          date: text(body['date']),
          until: text(body['until']),
          reason: text(body['reason']),
          yearly: body['yearly'] === 'on',
        };
        try {
          await addDay(c, form);
        } catch (error) {
          return page(c, { form, errors: refusal(error) });
        }
        return c.redirect('/oeffnungszeiten?gespeichert=1#schliesstage', 303);
      },
    },
    {
      method: 'POST',
      path: '/oeffnungszeiten/schliesstage/entfernen',
      allow: ROLES,
      handler: async (c) => {
        const body = await c.req.parseBody();
        const removed = await removeDay(c, text(body['scope']), Number(text(body['index'])), text(body['date']));
        if (!removed) {
          const t = translator(messages, c.var.language);
          return page(c, { errors: { date: t('changedMeanwhile') } });
        }
        return c.redirect('/oeffnungszeiten?gespeichert=1#schliesstage', 303);
      },
    },
    {
      method: 'GET',
      path: '/api/opening-hours',
      allow: ROLES,
      handler: async (c) => {
        const { tenant, sites } = await load(c);
        return c.json({
          federalState: tenant.federalState,
          closingDays: tenant.closingDays,
          sites: sites.map((site) => ({
            siteId: site.siteId,
            name: site.name,
            openingHours: site.openingHours.map((interval) => directoryV1.OpeningInterval.toJSON(interval)),
            closingDays: site.closingDays,
          })),
        });
      },
    },
    {
      method: 'POST',
      path: '/api/opening-hours/closing-days',
      allow: ROLES,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
        await addDay(c, {
          scope: text(body['scope']) || 'tenant',
          date: text(body['date']),
          until: text(body['until']),
          reason: text(body['reason']),
          yearly: body['yearly'] === true,
        });
        return c.json({ added: true });
      },
    },
  ],
};
