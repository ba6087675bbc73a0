import { CsrfField, Select } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { localPath } from '../../core-routes.js';
import { PortalError } from '../../errors.js';
import { defineMessages, translator } from '../../i18n.js';
import { render } from '../../render.js';
import { api, sessionOf, type PortalPage } from '../../routes.js';

const messages = defineMessages({
  de: { title: 'Mandant wählen', tenant: 'Mandant', submit: 'Auswählen', none: 'Es gibt noch keinen Mandanten.' },
  en: { title: 'Choose a tenant', tenant: 'Tenant', submit: 'Choose', none: 'There is no tenant yet.' },
});

async function tenants(c: PortalContext) {
  const { tenants } = await api(c).directory.listTenants({ tenantId: '' });
  return tenants.map((tenant) => ({ tenantId: tenant.tenantId, name: tenant.name }));
}

/** An operator's session acts for one tenant at a time, chosen here (checked against the directory). */
async function choose(c: PortalContext, tenantId: string): Promise<void> {
  if (!(await tenants(c)).some((tenant) => tenant.tenantId === tenantId)) {
    throw new PortalError(400, 'error.invalid', { reason: tenantId || '—' }, `no tenant ${JSON.stringify(tenantId)}`);
  }
  const session = sessionOf(c);
  await c.var.deps.sessions.setActingTenant(session.id, tenantId);
}

export const tenantPage: PortalPage = {
  name: 'tenant',
  routes: [
    {
      method: 'GET',
      path: '/mandant',
      allow: ['operator'],
      tenant: false,
      handler: async (c) => {
        const t = translator(messages, c.var.language);
        const list = await tenants(c);
        const next = localPath(c.req.query('next'));
        return render(c, {
          title: t('title'),
          body: list.length ? (
            <form method="post" action="/mandant">
              <CsrfField token={sessionOf(c).csrfToken} />
              <input type="hidden" name="next" value={next} />
              <Select
                name="tenantId"
                label={t('tenant')}
                value={sessionOf(c).actingTenant ?? ''}
                options={list.map((tenant) => ({
                  value: tenant.tenantId,
                  label: `${tenant.name} (${tenant.tenantId})`,
                }))}
              />
              <button type="submit">{t('submit')}</button>
            </form>
          ) : (
            <p>{t('none')}</p>
          ),
        });
      },
    },
    {
      method: 'POST',
      path: '/mandant',
      allow: ['operator'],
      tenant: false,
      handler: async (c) => {
        const body = await c.req.parseBody();
        await choose(c, typeof body['tenantId'] === 'string' ? body['tenantId'] : '');
        return c.redirect(localPath(typeof body['next'] === 'string' ? body['next'] : undefined), 303);
      },
    },
    {
      method: 'GET',
      path: '/api/tenants',
      allow: ['operator'],
      tenant: false,
      handler: async (c) => c.json({ tenants: await tenants(c) }),
    },
    {
      method: 'POST',
      path: '/api/tenant',
      allow: ['operator'],
      tenant: false,
      handler: async (c) => {
        const body = (await c.req.json().catch(() => ({}))) as { tenantId?: unknown };
        const tenantId = typeof body.tenantId === 'string' ? body.tenantId : '';
        await choose(c, tenantId);
        return c.json({ actingTenant: tenantId });
      },
    },
  ],
};
