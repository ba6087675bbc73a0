import { defineMessages, translator } from '../../i18n.js';
import { commonText, render } from '../../render.js';
import { PORTAL_ROLES } from '../../roles.js';
import { mayOpen, sessionOf, type PortalPage } from '../../routes.js';

const messages = defineMessages({
  de: {
    label: 'Start',
    title: 'Willkommen',
    intro: 'Sie sind als {role} für den Mandanten {tenant} angemeldet.',
    pages: 'Ihre Bereiche',
    nothing: 'Für Ihre Rolle gibt es hier noch keine Seiten.',
  },
  en: {
    label: 'Start',
    title: 'Welcome',
    intro: 'You are signed in as {role} for the tenant {tenant}.',
    pages: 'Your areas',
    nothing: 'There are no pages for your role here yet.',
  },
});

/** The start page: who is signed in and the areas their role may open. */
export const homePage: PortalPage = {
  name: 'home',
  nav: { path: '/', label: { de: messages.de.label, en: messages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/',
      allow: PORTAL_ROLES,
      handler: (c) => {
        const t = translator(messages, c.var.language);
        const common = commonText(c);
        const { user } = sessionOf(c);
        const areas = c.var.pages.flatMap((page) =>
          page.nav && page.nav.path !== '/' && mayOpen(c.var.pages, user.role, page.nav.path)
            ? [{ path: page.nav.path, label: page.nav.label[c.var.language] }]
            : [],
        );
        return render(c, {
          title: t('title'),
          body: (
            <>
              <p>{t('intro', { role: common(`role.${user.role}`), tenant: c.var.tenantId })}</p>
              <h2>{t('pages')}</h2>
              {areas.length ? (
                <ul>
                  {areas.map((area) => (
                    <li>
                      <a href={area.path}>{area.label}</a>
                    </li>
                  ))}
                </ul>
              ) : (
                <p>{t('nothing')}</p>
              )}
            </>
          ),
        });
      },
    },
  ],
};
