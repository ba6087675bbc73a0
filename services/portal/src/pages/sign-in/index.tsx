import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { CsrfField, Field } from '../../components.js';
import { clientAddress, type PortalContext } from '../../context.js';
import { localPath } from '../../core-routes.js';
import { signInFormToken } from '../../csrf.js';
import { PortalError } from '../../errors.js';
import { translator } from '../../i18n.js';
import { render } from '../../render.js';
import { PORTAL_ROLES } from '../../roles.js';
import type { PortalPage } from '../../routes.js';
import { clearSessionCookie, writeSessionCookie } from '../../session-cookie.js';
import { OidcError } from '../../auth/oidc.js';
import { signIn, type SignInResult } from '../../auth/sign-in.js';
import { berlinTime } from '../../time.js';
import { messages } from './messages.js';

function form(
  c: PortalContext,
  values: { tenant: string; username: string; next: string },
  failure?: string,
  status: 200 | 401 | 423 | 429 = 200,
) {
  const t = translator(messages, c.var.language);
  return render(c, {
    title: t('title'),
    httpStatus: status === 423 ? 401 : status,
    body: (
      <>
        <form method="post" action="/anmelden" novalidate>
          <CsrfField token={signInFormToken(c)} />
          <input type="hidden" name="next" value={values.next} />
          {failure ? (
            <p class="error" role="alert" id="anmeldung-fehler">
              {failure}
            </p>
          ) : (
            ''
          )}
          <Field
            name="tenant"
            label={t('tenant')}
            hint={t('tenantHint')}
            value={values.tenant}
            autocomplete="organization"
          />
          <Field name="username" label={t('username')} value={values.username} required autocomplete="username" />
          <Field name="password" label={t('password')} type="password" required autocomplete="current-password" />
          <button type="submit">{t('submit')}</button>
        </form>
        {c.var.deps.oidc.tenants.length > 0 ? (
          <form method="get" action="/anmelden/oidc">
            <h2>{t('oidcTitle')}</h2>
            <input type="hidden" name="next" value={values.next} />
            <Field name="oidcTenant" label={t('oidcTenant')} value={values.tenant} autocomplete="organization" />
            <button type="submit">{t('oidcSubmit')}</button>
          </form>
        ) : (
          ''
        )}
      </>
    ),
  });
}

function failureText(c: PortalContext, result: Exclude<SignInResult, { outcome: 'ok' }>): string {
  const t = translator(messages, c.var.language);
  switch (result.outcome) {
    case 'invalid':
      return t('invalid');
    case 'locked':
      return t('locked', { until: berlinTime(result.lockedUntil) });
    case 'throttled':
      return t('throttled', { seconds: result.retryAfterSeconds });
  }
}

/** The flow of a sign-in at a tenant's identity provider (see auth/oidc.ts). */
const OIDC_COOKIE = 'sb-oidc';

/** Where the provider sends the browser back: the portal's public origin, else the request's. */
const callbackUrl = (c: PortalContext) =>
  new URL('/anmelden/oidc/callback', c.var.deps.publicOrigin ?? new URL(c.req.url).origin);

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** Sign-in and sign-out, as pages and as /api/session for API callers. */
export const signInPage: PortalPage = {
  name: 'sign-in',
  routes: [
    {
      method: 'GET',
      path: '/anmelden',
      allow: 'public',
      handler: (c) => {
        const next = localPath(c.req.query('next'));
        if (c.var.session) return c.redirect(next, 303);
        return form(c, { tenant: '', username: '', next });
      },
    },
    {
      method: 'POST',
      path: '/anmelden',
      allow: 'public',
      handler: async (c) => {
        const body = await c.req.parseBody();
        const values = {
          tenant: text(body['tenant']),
          username: text(body['username']),
          next: localPath(text(body['next'])),
        };
        const result = await signIn(c.var.deps, {
          tenantId: values.tenant,
          username: values.username,
          password: text(body['password']),
          address: clientAddress(c),
        });
        if (result.outcome === 'ok') {
          writeSessionCookie(c, result.cookie);
          return c.redirect(values.next, 303);
        }
        if (result.outcome === 'throttled') c.header('Retry-After', String(result.retryAfterSeconds));
        return form(c, values, failureText(c, result), result.outcome === 'throttled' ? 429 : 401);
      },
    },
    {
      method: 'GET',
      path: '/anmelden/oidc',
      allow: 'public',
      handler: async (c) => {
        const tenant = (c.req.query('oidcTenant') ?? '').trim();
        const next = localPath(c.req.query('next'));
        const { deps } = c.var;
        if (!deps.oidc.has(tenant)) {
          return form(
            c,
            { tenant, username: '', next },
            translator(messages, c.var.language)('oidcUnknownTenant'),
            401,
          );
        }
        const { flowId, url } = await deps.oidc.start(tenant, callbackUrl(c).toString(), next, deps.now());
        // Lax, not Strict: the provider's redirect back is a navigation from another site.
        setCookie(c, OIDC_COOKIE, flowId, { prefix: 'host', httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
        return c.redirect(url.toString(), 303);
      },
    },
    {
      method: 'GET',
      path: '/anmelden/oidc/callback',
      allow: 'public',
      handler: async (c) => {
        const { deps } = c.var;
        const flowId = getCookie(c, OIDC_COOKIE, 'host') ?? '';
        deleteCookie(c, OIDC_COOKIE, { prefix: 'host', secure: true, path: '/' });
        const url = callbackUrl(c);
        url.search = new URL(c.req.url).search;
        let finished;
        try {
          finished = await deps.oidc.finish(flowId, url, deps.now());
        } catch (error) {
          const reason = error instanceof OidcError ? error.message : 'the provider refused the sign-in';
          deps.logger.warn({ err: error }, 'identity provider sign-in failed');
          await deps.signIns.record({
            at: deps.now(),
            tenantId: '',
            username: '',
            address: clientAddress(c),
            outcome: 'provider-refused',
            via: 'oidc',
          });
          const t = translator(messages, c.var.language);
          return form(c, { tenant: '', username: '', next: '/' }, t('oidcFailed', { reason }), 401);
        }
        const { cookie } = await deps.sessions.create(finished.user, deps.now());
        await deps.signIns.record({
          at: deps.now(),
          tenantId: finished.user.tenantId,
          username: finished.user.username,
          address: clientAddress(c),
          outcome: 'ok',
          via: 'oidc',
        });
        writeSessionCookie(c, cookie);
        return c.redirect(finished.next, 303);
      },
    },
    {
      method: 'POST',
      path: '/abmelden',
      allow: PORTAL_ROLES,
      tenant: false,
      handler: async (c) => {
        await endSession(c);
        return c.redirect('/anmelden', 303);
      },
    },
    {
      method: 'POST',
      path: '/api/session',
      allow: 'public',
      handler: async (c) => {
        const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
        if (!body || typeof body['username'] !== 'string' || typeof body['password'] !== 'string') {
          throw new PortalError(
            400,
            'error.invalid',
            { reason: 'username and password' },
            'expected JSON { tenant, username, password }',
          );
        }
        const result = await signIn(c.var.deps, {
          tenantId: text(body['tenant']),
          username: body['username'],
          password: body['password'],
          address: clientAddress(c),
        });
        if (result.outcome === 'ok') {
          writeSessionCookie(c, result.cookie);
          return c.json(sessionJson(result.session));
        }
        if (result.outcome === 'throttled') {
          c.header('Retry-After', String(result.retryAfterSeconds));
          return c.json({ error: 'throttled', message: failureText(c, result) }, 429);
        }
        return c.json({ error: result.outcome, message: failureText(c, result) }, 401);
      },
    },
    {
      method: 'GET',
      path: '/api/session',
      allow: PORTAL_ROLES,
      tenant: false,
      handler: (c) => c.json(sessionJson(c.var.session!)),
    },
    {
      method: 'DELETE',
      path: '/api/session',
      allow: PORTAL_ROLES,
      tenant: false,
      handler: async (c) => {
        await endSession(c);
        return c.body(null, 204);
      },
    },
  ],
};

/** What an API caller learns about its session: who, for which tenant, the CSRF token to send. */
function sessionJson(session: NonNullable<PortalContext['var']['session']>) {
  const { user } = session;
  return {
    user: { tenantId: user.tenantId, username: user.username, role: user.role, departments: user.departments },
    actingTenant: session.actingTenant,
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt.toISOString(),
  };
}

async function endSession(c: PortalContext): Promise<void> {
  const session = c.var.session!;
  const { deps } = c.var;
  await deps.sessions.delete(session.id);
  deps.tokens.forget(session.id);
  clearSessionCookie(c);
  await deps.signIns.record({
    at: deps.now(),
    tenantId: session.user.tenantId,
    username: session.user.username,
    address: clientAddress(c),
    outcome: 'signed-out',
    via: session.user.via,
  });
}
