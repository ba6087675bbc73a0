import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import type { PortalContext, PortalEnv } from './context.js';
import { PortalError } from './errors.js';

/** The sign-in form's token before there is a session (double-submit cookie). */
const SIGN_IN_COOKIE = 'sb-signin';
export const CSRF_HEADER = 'x-csrf-token';

const sameToken = (a: string | undefined, b: string | undefined) =>
  !!a && !!b && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The token the sign-in form carries; set as a cookie the post must match. */
export function signInFormToken(c: PortalContext): string {
  const existing = getCookie(c, SIGN_IN_COOKIE, 'host');
  if (existing) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(c, SIGN_IN_COOKIE, token, { prefix: 'host', httpOnly: true, sameSite: 'Strict', secure: true, path: '/' });
  return token;
}

async function submittedToken(c: PortalContext): Promise<string | undefined> {
  const header = c.req.header(CSRF_HEADER);
  if (header) return header;
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    const field = (await c.req.parseBody())['_csrf'];
    return typeof field === 'string' ? field : undefined;
  }
  return undefined;
}

/**
 * Two defences for every request that changes something (POST, PUT, DELETE), after the session
 * is known:
 * 1. Origin: a form-like post must come from the portal's own origin (hono/csrf: `Origin` or
 *    `Sec-Fetch-Site`). A JSON body cannot be sent cross-site without a CORS preflight, which
 *    the portal never answers.
 * 2. A token: signed in, the session's (`_csrf` form field or `X-CSRF-Token` header; /api/session
 *    returns it); signed out (the sign-in form), the double-submit cookie's. A JSON sign-in needs
 *    none (point 1).
 */
export function csrfProtection(publicOrigin: string | undefined): MiddlewareHandler<PortalEnv> {
  const originCheck = csrf(publicOrigin ? { origin: publicOrigin } : {});
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return next();
    try {
      await originCheck(c, async () => undefined);
    } catch {
      throw new PortalError(403, 'error.csrf', {}, 'cross-origin form post refused');
    }
    const session = c.var.session;
    const type = c.req.header('content-type') ?? '';
    const expected = session
      ? session.csrfToken
      : type.startsWith('application/json')
        ? undefined
        : getCookie(c, SIGN_IN_COOKIE, 'host');
    if (session || !type.startsWith('application/json')) {
      if (!sameToken(await submittedToken(c), expected)) {
        throw new PortalError(403, 'error.csrf', {}, 'missing or wrong CSRF token');
      }
    }
    return next();
  };
}
