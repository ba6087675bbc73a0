import { directoryServiceV1 } from '@switchboard/proto';
import { ErrorSummary, Field, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { messages } from './messages.js';
import { translator, type Language } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { PORTAL_ROLES, type PortalRole } from '../../roles.js';
import { api, type PortalPage } from '../../routes.js';

// The tenant's audit log (the directory keeps every service's audited changes): who changed what,
// when, filtered by day range, service and person, newest first, a page at a time.

const PAGE_SIZE = 50;
const ZONE = 'Europe/Berlin';

type Key = keyof (typeof messages)['de'];

/** The filter as the form and the API take it (all optional text). */
export interface AuditFilter {
  since: string;
  until: string;
  service: string;
  subject: string;
  pageToken: string;
}

/** Berlin's offset from UTC in minutes at an instant (60 in winter, 120 in summer). */
function berlinOffsetMinutes(at: Date): number {
  const name = new Intl.DateTimeFormat('en', { timeZone: ZONE, timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((part) => part.type === 'timeZoneName')!.value;
  const match = /GMT([+-])(\d{1,2})(?::(\d\d))?/.exec(name);
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3] ?? 0));
}

/**
 * The instant a Berlin day starts (`2026-12-01` → 2026-11-30T23:00Z). Berlin changes its clock at
 * 02:00/03:00, so the offset at UTC midnight of that date is the one at its local midnight.
 */
export function berlinDayStart(day: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const utcMidnight = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(utcMidnight.getTime()) || utcMidnight.toISOString().slice(0, 10) !== day) return undefined;
  return new Date(utcMidnight.getTime() - berlinOffsetMinutes(utcMidnight) * 60_000);
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** The directory's request for a filter, or the fields that are wrong (message keys). */
export function auditRequest(
  tenantId: string,
  filter: AuditFilter,
): { request: directoryServiceV1.ListAuditEntriesRequest; errors: Partial<Record<keyof AuditFilter, Key>> } {
  const errors: Partial<Record<keyof AuditFilter, Key>> = {};
  const since = filter.since ? berlinDayStart(filter.since) : undefined;
  const until = filter.until ? berlinDayStart(filter.until) && berlinDayStart(nextDay(filter.until)) : undefined;
  if (filter.since && !since) errors.since = 'badDate';
  if (filter.until && !until) errors.until = 'badDate';
  if (since && until && until <= since) errors.until = 'untilBeforeSince';
  if (filter.service && !/^[a-z][a-z-]{0,40}$/.test(filter.service)) errors.service = 'badService';
  return {
    request: directoryServiceV1.ListAuditEntriesRequest.fromPartial({
      tenantId,
      since,
      until,
      service: filter.service,
      subject: filter.subject,
      pageSize: PAGE_SIZE,
      pageToken: filter.pageToken,
    }),
    errors,
  };
}

function filterOf(c: PortalContext): AuditFilter {
  const value = (name: string) => (c.req.query(name) ?? '').trim();
  return {
    since: value('since'),
    until: value('until'),
    service: value('service'),
    subject: value('subject'),
    pageToken: value('pageToken'),
  };
}

/** `03.12.2026, 10:15:02` on Berlin's clock (or its English form). */
function berlinTime(at: Date | undefined, language: Language): string {
  if (!at) return '–';
  return new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
    timeZone: ZONE,
    dateStyle: 'medium',
    timeStyle: 'medium',
  }).format(at);
}

async function load(c: PortalContext, filter: AuditFilter) {
  const { request, errors } = auditRequest(c.var.tenantId, filter);
  if (Object.keys(errors).length > 0) return { errors, entries: [], nextPageToken: '' };
  const answer = await api(c).directory.listAuditEntries(request);
  return { errors, ...answer };
}

const query = (filter: AuditFilter) =>
  new URLSearchParams(Object.entries(filter).filter(([, value]) => value !== '')).toString();

export const auditPage: PortalPage = {
  name: 'audit',
  nav: { path: '/protokoll', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/protokoll',
      // As the directory's ListAuditEntries: the tenant's administrators and the provider.
      allow: ['admin', 'operator'],
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const common = commonText(c);
        const filter = filterOf(c);
        const { errors, entries, nextPageToken } = await load(c, filter);
        const fieldErrors: FieldErrors = Object.fromEntries(
          Object.entries(errors).map(([field, key]) => [field, t(key)]),
        );
        // A service's own changes (role service) have no role text of their own.
        const roleName = (role: string) =>
          (PORTAL_ROLES as readonly string[]).includes(role) ? common(`role.${role as PortalRole}`) : role;
        const labels = { since: t('since'), until: t('until'), service: t('service'), subject: t('subject') };
        const invalid = Object.keys(fieldErrors).length > 0;
        return render(c, {
          title: t('title'),
          httpStatus: invalid ? 422 : 200,
          body: (
            <>
              <p>{t('intro')}</p>
              <ErrorSummary
                title={common('formHasErrors', { count: Object.keys(fieldErrors).length })}
                errors={fieldErrors}
                labels={labels}
              />
              <form method="get" action="/protokoll" class="filter" aria-label={t('filter')}>
                <Field
                  name="since"
                  label={labels.since}
                  value={filter.since}
                  hint={t('dateHint')}
                  error={fieldErrors['since']}
                />
                <Field
                  name="until"
                  label={labels.until}
                  value={filter.until}
                  hint={t('dateHint')}
                  error={fieldErrors['until']}
                />
                <Field
                  name="service"
                  label={labels.service}
                  value={filter.service}
                  hint={t('serviceHint')}
                  error={fieldErrors['service']}
                />
                <Field name="subject" label={labels.subject} value={filter.subject} error={fieldErrors['subject']} />
                <button type="submit">{t('apply')}</button> <a href="/protokoll">{t('reset')}</a>
              </form>
              {invalid ? (
                ''
              ) : entries.length === 0 ? (
                <p>{t('none')}</p>
              ) : (
                <table>
                  <caption>{t('caption')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('at')}</th>
                      <th scope="col">{t('who')}</th>
                      <th scope="col">{t('what')}</th>
                      <th scope="col">{t('details')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.map((entry) => (
                      <tr>
                        <td>
                          <time datetime={entry.at?.toISOString()}>{berlinTime(entry.at, c.var.language)}</time>
                        </td>
                        <td>
                          {entry.subject} ({roleName(entry.role)})
                        </td>
                        <td>
                          {entry.service} / {entry.method}
                        </td>
                        <td>
                          <code class="summary">{entry.summary}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <p class="pager">
                {filter.pageToken ? (
                  <a href={`/protokoll?${query({ ...filter, pageToken: '' })}`}>{t('newest')}</a>
                ) : (
                  ''
                )}{' '}
                {nextPageToken ? (
                  <a rel="next" href={`/protokoll?${query({ ...filter, pageToken: nextPageToken })}`}>
                    {t('older')}
                  </a>
                ) : (
                  ''
                )}
              </p>
            </>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/audit',
      allow: ['admin', 'operator'],
      handler: async (c) => {
        const { errors, entries, nextPageToken } = await load(c, filterOf(c));
        if (Object.keys(errors).length > 0) {
          const t = translator(messages, c.var.language);
          const fields = Object.fromEntries(Object.entries(errors).map(([field, key]) => [field, t(key)]));
          return c.json({ error: 'invalid filter', fields }, 422);
        }
        return c.json({
          entries: entries.map((entry) => ({ ...entry, at: entry.at?.toISOString() ?? null })),
          nextPageToken,
        });
      },
    },
  ],
};
