import { setCookie } from 'hono/cookie';
import { STYLESHEET } from './assets.js';
import type { PortalContext } from './context.js';
import { isLanguage, LANGUAGE_COOKIE } from './i18n.js';
import type { PortalPage } from './routes.js';

/** Only a path on this portal: `/x`, never `//host` or `/\host` (no open redirect). */
export function localPath(next: string | undefined, fallback = '/'): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : fallback;
}

/** Static assets and the language switch: open to everyone. */
export const corePage: PortalPage = {
  name: 'core',
  routes: [
    {
      method: 'GET',
      path: '/static/portal.css',
      allow: 'public',
      handler: (c) => {
        c.header('Content-Type', 'text/css; charset=utf-8');
        c.header('Cache-Control', 'public, max-age=3600');
        return c.body(STYLESHEET);
      },
    },
    {
      method: 'GET',
      path: '/sprache/:lang',
      allow: 'public',
      handler: (c: PortalContext) => {
        const language = c.req.param('lang');
        if (isLanguage(language)) {
          setCookie(c, LANGUAGE_COOKIE, language, { path: '/', sameSite: 'Lax', secure: true, maxAge: 365 * 86_400 });
        }
        return c.redirect(localPath(c.req.query('next')), 303);
      },
    },
  ],
};
