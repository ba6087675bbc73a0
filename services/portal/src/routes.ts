import type { Hono } from 'hono';
import { isApi, type PortalContext, type PortalEnv } from './context.js';
import { forbidden, PortalError } from './errors.js';
import type { Language } from './i18n.js';
import type { PortalRole } from './roles.js';
import { userApi, type ServiceName, type Api } from './rpc.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * One entry of the route table. Nothing is open by default: `allow` names the roles that may use
 * the route; `'public'` is for sign-in and static assets only.
 */
export interface PortalRoute {
  method: Method;
  path: string;
  allow: readonly PortalRole[] | 'public';
  /**
   * Whether the route acts on a tenant (default true): the tenant is the session's — an
   * operator's the one they chose — and the handler reads it from `c.var.tenantId`, never from the
   * request.
   */
  tenant?: boolean;
  handler: (c: PortalContext) => Response | Promise<Response>;
}

/** A page: its folder under src/pages/, its routes (HTML and /api/ JSON), its navigation entry. */
export interface PortalPage {
  name: string;
  routes: readonly PortalRoute[];
  /** Shown in the navigation to the roles its GET route allows. */
  nav?: { path: string; label: Readonly<Record<Language, string>> };
}

/**
 * Registers every route behind its check: signed in (pages redirect to sign-in, the API answers
 * 401), role allowed (403), tenant chosen (an operator is sent to choose one first).
 */
export function registerRoutes(app: Hono<PortalEnv>, pages: readonly PortalPage[]): void {
  const seen = new Set<string>();
  for (const page of pages) {
    for (const route of page.routes) {
      const key = `${route.method} ${route.path}`;
      if (seen.has(key)) throw new Error(`route ${key} is declared twice (page ${page.name})`);
      seen.add(key);
      if (route.allow !== 'public' && route.allow.length === 0) {
        throw new Error(`route ${key} of page ${page.name} allows no role`);
      }
      app.on(route.method, route.path, async (c) => {
        if (route.allow !== 'public') {
          const session = c.var.session;
          if (!session) {
            if (isApi(c)) throw new PortalError(401, 'error.forbidden', {}, 'not signed in');
            const next = c.req.path + (new URL(c.req.url).search || '');
            return c.redirect(`/anmelden?next=${encodeURIComponent(next)}`, 303);
          }
          if (!route.allow.includes(session.user.role)) {
            throw forbidden(`${session.user.role} may not ${key} (allowed: ${route.allow.join(', ')})`);
          }
          if (route.tenant ?? true) {
            if (!session.actingTenant) {
              if (isApi(c))
                throw new PortalError(409, 'error.chooseTenant', {}, 'choose a tenant first: POST /api/tenant');
              return c.redirect(`/mandant?next=${encodeURIComponent(c.req.path)}`, 303);
            }
            c.set('tenantId', session.actingTenant);
          }
        }
        return route.handler(c);
      });
    }
  }
}

/** Whether the signed-in user may open `path` (its GET route), for the navigation. */
export function mayOpen(pages: readonly PortalPage[], role: PortalRole, path: string): boolean {
  const route = pages.flatMap((page) => page.routes).find((r) => r.method === 'GET' && r.path === path);
  return !!route && (route.allow === 'public' || route.allow.includes(role));
}

/** The signed-in user's session; only for routes behind the table's check. */
export function sessionOf(c: PortalContext) {
  const session = c.var.session;
  if (!session) throw new PortalError(401, 'error.forbidden', {}, 'not signed in');
  return session;
}

/** The services' APIs called with the signed-in user's token. */
export function api(c: PortalContext): { readonly [N in ServiceName]: Api<N> } {
  const { clients, tokens } = c.var.deps;
  return userApi(clients, tokens, sessionOf(c));
}

/**
 * The departments the user may see: `undefined` = all of the tenant's (admin, operator, finance),
 * otherwise a supervisor's own; an agent sees none through this (their own state only).
 */
export function departmentScope(c: PortalContext): ReadonlySet<string> | undefined {
  const { user } = sessionOf(c);
  if (user.role === 'supervisor') return new Set(user.departments);
  if (user.role === 'agent') return new Set();
  return undefined;
}

/** Refuses a department outside the user's scope (a supervisor's other departments). */
export function assertDepartment(c: PortalContext, departmentId: string): void {
  const scope = departmentScope(c);
  if (scope && !scope.has(departmentId)) {
    throw forbidden(`${sessionOf(c).user.role} may not act on department ${departmentId}`);
  }
}

/** Refuses an agent acting on anyone but themselves. */
export function assertSelf(c: PortalContext, staffId: string): void {
  const { user } = sessionOf(c);
  if (user.role === 'agent' && user.subject !== staffId) throw forbidden(`agent may only act on themselves`);
}

/** A path parameter of the route (`:name`); the route table's handlers are typed for any path. */
export function param(c: PortalContext, name: string): string {
  const value = c.req.param(name) as string | undefined;
  if (!value) throw new PortalError(404, 'error.notFound', {}, `missing path parameter ${name}`);
  return value;
}
