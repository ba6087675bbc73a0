import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { isApi, type PortalDeps, type PortalEnv } from './context.js';
import { csrfProtection } from './csrf.js';
import { PortalError } from './errors.js';
import { common, DEFAULT_LANGUAGE, isLanguage, LANGUAGE_COOKIE, translator } from './i18n.js';
import { PAGES } from './pages/index.js';
import { render } from './render.js';
import { registerRoutes, type PortalPage } from './routes.js';
import { clearSessionCookie, readSessionCookie } from './session-cookie.js';

/**
 * The portal's web app: language, session and CSRF checks for every request, then the route
 * table of every page (src/pages/index.ts). Errors become a page in the layout or a JSON body.
 */
export function createPortalApp(deps: PortalDeps, pages: readonly PortalPage[] = PAGES): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();

  app.use(async (c, next) => {
    c.set('deps', deps);
    c.set('pages', pages);
    const language = getCookie(c, LANGUAGE_COOKIE);
    c.set('language', isLanguage(language) ? language : DEFAULT_LANGUAGE);
    const cookie = readSessionCookie(c);
    const session = cookie ? await deps.sessions.find(cookie, deps.now()) : null;
    if (cookie && !session) clearSessionCookie(c);
    c.set('session', session);
    await next();
    // Pages show per-user data: never cached, never framed.
    c.header('Cache-Control', c.res.headers.get('Cache-Control') ?? 'no-store');
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  });
  app.use(csrfProtection(deps.publicOrigin));

  registerRoutes(app, pages);

  app.notFound((c) => {
    if (isApi(c)) return c.json({ error: 'not found' }, 404);
    const t = translator(common, c.var.language);
    return render(c, {
      title: t('error.notFound'),
      body: (
        <p>
          <a href="/">{t('backToStart')}</a>
        </p>
      ),
      httpStatus: 404,
    });
  });

  app.onError((error, c) => {
    const known = error instanceof PortalError ? error : undefined;
    if (!known) deps.logger.error({ err: error, path: c.req.path, method: c.req.method }, 'request failed');
    else if (known.status === 403) deps.logger.warn({ path: c.req.path, reason: known.message }, 'refused');
    const status = known?.status ?? 500;
    const t = translator(common, c.var.language ?? DEFAULT_LANGUAGE);
    const text = t(known?.messageKey ?? 'error.internal', known?.values);
    if (known?.status === 429) c.header('Retry-After', String(known.values['retryAfter'] ?? 60));
    if (isApi(c)) return c.json({ error: known ? known.message : 'internal error', message: text }, status);
    return render(c, {
      title: t('error.title'),
      body: (
        <>
          <p class="error" role="alert">
            {text}
          </p>
          <p>
            <a href="/">{t('backToStart')}</a>
          </p>
        </>
      ),
      httpStatus: status,
    });
  });
  return app;
}
