import type { Child } from 'hono/jsx';
import type { PortalContext } from './context.js';
import { CsrfField, Status } from './components.js';
import { common, LANGUAGES, translator, type Language } from './i18n.js';
import { SessionWarning } from './pages/session/index.js';
import { mayOpen } from './routes.js';

const LANGUAGE_NAMES: Record<Language, string> = { de: 'Deutsch', en: 'English' };

export interface PageContent {
  /** The page's h1 and the document title. */
  title: string;
  body: Child;
  /** A status line shown above the content, e.g. after a save. */
  status?: string | undefined;
  httpStatus?: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 503;
}

/** The common texts in the request's language. */
export const commonText = (c: PortalContext) => translator(common, c.var.language);

/**
 * A whole page in the layout: skip link, header (user, tenant, language, sign-out), the
 * navigation the user's role may open, and the main content with its h1.
 */
export function render(c: PortalContext, content: PageContent): Response | Promise<Response> {
  const t = commonText(c);
  const session = c.var.session;
  const language = c.var.language;
  const here = c.req.path;
  const nav = session
    ? c.var.pages.flatMap((page) =>
        page.nav && mayOpen(c.var.pages, session.user.role, page.nav.path)
          ? [{ path: page.nav.path, label: page.nav.label[language] }]
          : [],
      )
    : [];
  const returnTo = encodeURIComponent(here + (new URL(c.req.url).search || ''));
  return c.html(
    '<!doctype html>' +
    (
      <html lang={language}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${content.title} – ${t('portal')}`}</title>
          <link rel="stylesheet" href="/static/portal.css" />
        </head>
        <body>
          <a class="skip-link" href="#inhalt">
            {t('skipToContent')}
          </a>
          <header class="site-header">
            <p class="portal-name">
              <a href="/">{t('portal')}</a>
            </p>
            <ul class="header-tools">
              <li>
                <span class="visually-hidden">{t('language')}: </span>
                {LANGUAGES.map((code) =>
                  code === language ? (
                    <strong lang={code} aria-current="true">
                      {LANGUAGE_NAMES[code]}
                    </strong>
                  ) : (
                    <a href={`/sprache/${code}?next=${returnTo}`} lang={code} hreflang={code}>
                      {LANGUAGE_NAMES[code]}
                    </a>
                  ),
                )}
              </li>
              {session ? (
                <>
                  <li>{t('signedInAs', { user: session.user.username, role: t(`role.${session.user.role}`) })}</li>
                  {session.user.role === 'operator' ? (
                    <li>
                      {session.actingTenant ? `${t('actingFor', { tenant: session.actingTenant })} · ` : ''}
                      <a href="/mandant">{t('chooseTenant')}</a>
                    </li>
                  ) : (
                    <li>{t('actingFor', { tenant: session.user.tenantId })}</li>
                  )}
                  <li>
                    <form method="post" action="/abmelden">
                      <CsrfField token={session.csrfToken} />
                      <button type="submit">{t('signOut')}</button>
                    </form>
                  </li>
                </>
              ) : (
                ''
              )}
            </ul>
          </header>
          {nav.length ? (
            <nav aria-label={t('mainNavigation')} class="main-nav">
              <ul>
                {nav.map((item) => (
                  <li>
                    <a
                      href={item.path}
                      aria-current={
                        here === item.path || (item.path !== '/' && here.startsWith(`${item.path}/`))
                          ? 'page'
                          : undefined
                      }
                    >
                      {item.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : (
            ''
          )}
          <main id="inhalt" tabindex={-1}>
            <h1>{content.title}</h1>
            {content.status ? <Status>{content.status}</Status> : ''}
            {content.body}
          </main>
          {session ? <SessionWarning c={c} session={session} /> : ''}
        </body>
      </html>
    ),
    content.httpStatus ?? 200,
  );
}
