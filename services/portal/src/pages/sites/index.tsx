import type { directoryV1 } from '@switchboard/proto';
import { CsrfField, ErrorSummary, Field, type FieldErrors } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { notFound } from '../../errors.js';
import { FormCheck, formFields, jsonBody, savedFlag } from '../../forms.js';
import { defineMessages, translator } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { api, param, sessionOf, type PortalPage } from '../../routes.js';

const messages = defineMessages({
  de: {
    label: 'Standorte',
    title: 'Standorte',
    search: 'Standorte durchsuchen',
    searchHint: 'Name, Ort, Gemeinde oder Art, z. B. „Kita“ oder „Kropp“',
    caption: '{count} Standorte',
    captionFiltered: '{count} von {total} Standorten für „{query}“',
    name: 'Name',
    kind: 'Art',
    municipality: 'Gemeinde',
    address: 'Anschrift',
    headcount: 'Beschäftigte',
    edit: 'Bearbeiten',
    editTitle: 'Standort {name}',
    street: 'Straße und Hausnummer',
    postalCode: 'Postleitzahl',
    city: 'Ort',
    headcountHint: 'Zahl der Beschäftigten am Standort; danach wird die Rechnung auf die Standorte verteilt.',
    postalCodeInvalid: 'Bitte eine fünfstellige Postleitzahl eingeben.',
    back: 'Zurück zu den Standorten',
    none: 'Keine Standorte gefunden.',
  },
  en: {
    label: 'Sites',
    title: 'Sites',
    search: 'Search sites',
    searchHint: 'Name, town, municipality or kind, e.g. "kindergarten" or "Kropp"',
    caption: '{count} sites',
    captionFiltered: '{count} of {total} sites for "{query}"',
    name: 'Name',
    kind: 'Kind',
    municipality: 'Municipality',
    address: 'Address',
    headcount: 'Staff',
    edit: 'Edit',
    editTitle: 'Site {name}',
    street: 'Street and number',
    postalCode: 'Postal code',
    city: 'Town',
    headcountHint: 'Number of staff at the site; the invoice is allocated to the sites by it.',
    postalCodeInvalid: 'Please enter a five-digit postal code.',
    back: 'Back to the sites',
    none: 'No sites found.',
  },
});

const ROLES = ['admin', 'operator'] as const;

interface SiteView {
  siteId: string;
  name: string;
  kind: string;
  municipality: string;
  address: { street: string; postalCode: string; city: string };
  headcount: number;
}

const view = (site: directoryV1.Site): SiteView => ({
  siteId: site.siteId,
  name: site.name,
  kind: site.kind,
  municipality: site.municipality,
  address: {
    street: site.address?.street ?? '',
    postalCode: site.address?.postalCode ?? '',
    city: site.address?.city ?? '',
  },
  headcount: site.headcount,
});

/** The tenant's sites matching `query` (every word in name, kind, municipality or address), by name. */
async function listSites(c: PortalContext, query: string): Promise<{ total: number; sites: SiteView[] }> {
  const { sites } = await api(c).directory.listSites({ tenantId: c.var.tenantId });
  const words = query.toLocaleLowerCase('de').split(/\s+/).filter(Boolean);
  const matching = sites.map(view).filter((site) => {
    const text = [
      site.name,
      site.kind,
      site.municipality,
      site.address.street,
      site.address.postalCode,
      site.address.city,
    ]
      .join(' ')
      .toLocaleLowerCase('de');
    return words.every((word) => text.includes(word));
  });
  matching.sort((a, b) => a.name.localeCompare(b.name, 'de'));
  return { total: sites.length, sites: matching };
}

async function getSite(c: PortalContext, siteId: string): Promise<directoryV1.Site> {
  const { site } = await api(c).directory.getSite({ tenantId: c.var.tenantId, siteId });
  if (!site) throw notFound(`no site ${siteId}`);
  return site;
}

interface SiteChange {
  street: string;
  postalCode: string;
  city: string;
  headcount: number;
}

function checkChange(c: PortalContext, input: Record<string, unknown>): { check: FormCheck; change: SiteChange } {
  const t = translator(messages, c.var.language);
  const check = new FormCheck(commonText(c));
  const change = {
    street: check.text('street', input['street'], true),
    postalCode: check.text('postalCode', input['postalCode'], true),
    city: check.text('city', input['city'], true),
    headcount: check.integer('headcount', input['headcount'], 0, 100_000),
  };
  if (change.postalCode && !/^\d{5}$/.test(change.postalCode)) check.fail('postalCode', t('postalCodeInvalid'));
  return { check, change };
}

/** Address and headcount changed, everything else of the site kept (UpdateSite replaces the whole site). */
async function saveSite(c: PortalContext, siteId: string, change: SiteChange): Promise<SiteView> {
  const site = await getSite(c, siteId);
  const { site: saved } = await api(c).directory.updateSite({
    tenantId: c.var.tenantId,
    site: {
      ...site,
      address: { street: change.street, postalCode: change.postalCode, city: change.city },
      headcount: change.headcount,
    },
  });
  return view(saved ?? site);
}

function listPage(c: PortalContext, query: string, result: { total: number; sites: SiteView[] }) {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  return render(c, {
    title: t('title'),
    body: (
      <>
        <form method="get" action="/standorte" role="search" class="actions">
          <Field name="q" type="search" label={t('search')} hint={t('searchHint')} value={query} />
          <button type="submit">{common('search')}</button>
        </form>
        {result.sites.length ? (
          <table>
            <caption>
              {query
                ? t('captionFiltered', { count: result.sites.length, total: result.total, query })
                : t('caption', { count: result.total })}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('name')}</th>
                <th scope="col">{t('kind')}</th>
                <th scope="col">{t('municipality')}</th>
                <th scope="col">{t('address')}</th>
                <th scope="col">{t('headcount')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('edit')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {result.sites.map((site) => (
                <tr>
                  <th scope="row">{site.name}</th>
                  <td>{site.kind}</td>
                  <td>{site.municipality}</td>
                  <td>
                    {[site.address.street, `${site.address.postalCode} ${site.address.city}`.trim()]
                      .filter(Boolean)
                      .join(', ')}
                  </td>
                  <td>{site.headcount}</td>
                  <td>
                    <a href={`/standorte/${encodeURIComponent(site.siteId)}`} aria-label={`${t('edit')}: ${site.name}`}>
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

function editPage(c: PortalContext, site: SiteView, values: Record<string, string | number>, errors: FieldErrors = {}) {
  const t = translator(messages, c.var.language);
  const common = commonText(c);
  const labels = { street: t('street'), postalCode: t('postalCode'), city: t('city'), headcount: t('headcount') };
  return render(c, {
    title: t('editTitle', { name: site.name }),
    status: savedFlag(c) ? common('saved') : undefined,
    httpStatus: Object.keys(errors).length ? 422 : 200,
    body: (
      <>
        <ErrorSummary
          title={common('formHasErrors', { count: Object.keys(errors).length })}
          errors={errors}
          labels={labels}
        />
        <form method="post" action={`/standorte/${encodeURIComponent(site.siteId)}`} novalidate>
          <CsrfField token={sessionOf(c).csrfToken} />
          <fieldset>
            <legend>{t('address')}</legend>
            <Field
              name="street"
              label={labels.street}
              value={values['street']}
              error={errors['street']}
              required
              autocomplete="off"
            />
            <Field
              name="postalCode"
              label={labels.postalCode}
              value={values['postalCode']}
              error={errors['postalCode']}
              required
            />
            <Field name="city" label={labels.city} value={values['city']} error={errors['city']} required />
          </fieldset>
          <Field
            name="headcount"
            type="number"
            label={labels.headcount}
            hint={t('headcountHint')}
            value={values['headcount']}
            error={errors['headcount']}
            min={0}
            required
          />
          <div class="actions">
            <button type="submit">{common('save')}</button>
            <a href="/standorte">{t('back')}</a>
          </div>
        </form>
      </>
    ),
  });
}

const formValues = (site: SiteView) => ({ ...site.address, headcount: site.headcount });

/** Sites (lines): list and search; address and headcount (the invoice's allocation key) edited. */
export const sitesPage: PortalPage = {
  name: 'sites',
  nav: { path: '/standorte', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/standorte',
      allow: ROLES,
      handler: async (c) => {
        const query = (c.req.query('q') ?? '').trim();
        return listPage(c, query, await listSites(c, query));
      },
    },
    {
      method: 'GET',
      path: '/standorte/:siteId',
      allow: ROLES,
      handler: async (c) => {
        const site = view(await getSite(c, param(c, 'siteId')));
        return editPage(c, site, formValues(site));
      },
    },
    {
      method: 'POST',
      path: '/standorte/:siteId',
      allow: ROLES,
      handler: async (c) => {
        const siteId = param(c, 'siteId');
        const fields = await formFields(c);
        const { check, change } = checkChange(c, fields);
        if (!check.ok) return editPage(c, view(await getSite(c, siteId)), fields, check.errors);
        await saveSite(c, siteId, change);
        return c.redirect(`/standorte/${encodeURIComponent(siteId)}?gespeichert=1`, 303);
      },
    },
    {
      method: 'GET',
      path: '/api/sites',
      allow: ROLES,
      handler: async (c) => c.json(await listSites(c, (c.req.query('q') ?? '').trim())),
    },
    {
      method: 'GET',
      path: '/api/sites/:siteId',
      allow: ROLES,
      handler: async (c) => c.json({ site: view(await getSite(c, param(c, 'siteId'))) }),
    },
    {
      method: 'PUT',
      path: '/api/sites/:siteId',
      allow: ROLES,
      handler: async (c) => {
        const body = await jsonBody(c, '{ address: { street, postalCode, city }, headcount }');
        const address = (body['address'] ?? {}) as Record<string, unknown>;
        const { check, change } = checkChange(c, { ...address, headcount: body['headcount'] });
        if (!check.ok) return check.toJson(c);
        return c.json({ site: await saveSite(c, param(c, 'siteId'), change) });
      },
    },
  ],
};
