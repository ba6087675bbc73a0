import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { PortalContext } from './context.js';

/** `__Host-sb-session`: Secure, HttpOnly, SameSite=Strict, path /, no Domain (the __Host- rules). */
const SESSION_COOKIE = 'sb-session';

export const readSessionCookie = (c: PortalContext) => getCookie(c, SESSION_COOKIE, 'host');

/** No Max-Age: the browser forgets it when closed; the server ends it on idle or at the latest. */
export function writeSessionCookie(c: PortalContext, value: string): void {
  setCookie(c, SESSION_COOKIE, value, { prefix: 'host', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
}

export function clearSessionCookie(c: PortalContext): void {
  deleteCookie(c, SESSION_COOKIE, { prefix: 'host', secure: true, path: '/' });
}
