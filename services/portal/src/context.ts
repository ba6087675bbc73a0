import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { Logger } from '@switchboard/service-kit';
import type { AccountStore } from './auth/accounts.js';
import type { OidcProviders } from './auth/oidc.js';
import type { SignInLog } from './auth/sign-in-log.js';
import type { SignInThrottle } from './auth/throttle.js';
import type { Session, SessionStore } from './auth/sessions.js';
import type { Language } from './i18n.js';
import type { PortalPage } from './routes.js';
import type { ServiceClients, UserTokens } from './rpc.js';

/** What the app is built from: stores, the services' clients, settings and the clock. */
export interface PortalDeps {
  accounts: AccountStore;
  sessions: SessionStore;
  throttle: SignInThrottle;
  /** The tenants' identity providers (PORTAL_OIDC_FILE; none without it). */
  oidc: OidcProviders;
  signIns: SignInLog;
  clients: ServiceClients;
  tokens: UserTokens;
  logger: Logger;
  /** Expected `Origin` of form posts; undefined: the request's own. */
  publicOrigin: string | undefined;
  lockout: { attempts: number; lockMs: number };
  /** The current time; tests pass a clock they move. */
  now: () => Date;
}

export interface PortalVariables {
  deps: PortalDeps;
  /** Every page, for the navigation. */
  pages: readonly PortalPage[];
  language: Language;
  session: Session | null;
  /** The tenant a route acts on (set by the route table for tenant routes). */
  tenantId: string;
}

export type PortalEnv = { Bindings: HttpBindings; Variables: PortalVariables };
export type PortalContext = Context<PortalEnv>;

/** JSON API routes live under /api/; everything else is a page. */
export const isApi = (c: PortalContext) => c.req.path === '/api' || c.req.path.startsWith('/api/');

/** The client's address as the socket has it (a forwarding header could be forged). */
export const clientAddress = (c: PortalContext): string => c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
