import { connectMongo, createLogger, type MongoHandle } from '@switchboard/service-kit';
import { createTokenIssuer, type SigningKey } from '@switchboard/tokens';
import { createPortalApp } from '../src/app.js';
import { AccountStore, type Account } from '../src/auth/accounts.js';
import { OidcProviders, type readOidcFile } from '../src/auth/oidc.js';
import { hashPassword } from '../src/auth/passwords.js';
import { SessionStore } from '../src/auth/sessions.js';
import { SignInLog } from '../src/auth/sign-in-log.js';
import { SignInThrottle } from '../src/auth/throttle.js';
import type { PortalDeps } from '../src/context.js';
import { ServiceClients, UserTokens, type ServiceName } from '../src/rpc.js';

export const ORIGIN = 'http://portal.test';

/** A clock the test moves; starts at a fixed instant. */
export class TestClock {
  private at = Date.parse('2026-12-03T09:00:00Z');
  now = () => new Date(this.at);
  advance(ms: number) {
    this.at += ms;
  }
}

export interface TestPortalOptions {
  mongoUrl: string;
  dbName: string;
  signingKey: SigningKey;
  addresses?: Partial<Record<ServiceName, string>>;
  ipFailures?: number;
  oidcProviders?: Awaited<ReturnType<typeof readOidcFile>>;
}

/** The portal's app over a real Mongo database, in this process, answering `request()`s. */
export async function startTestPortal(options: TestPortalOptions) {
  const mongo: MongoHandle = await connectMongo({
    url: options.mongoUrl,
    dbName: options.dbName,
    appName: 'portal-test',
  });
  const clock = new TestClock();
  const logger = createLogger({ service: 'portal', level: process.env['PORTAL_TEST_LOG'] ? 'debug' : 'silent' });
  const accounts = new AccountStore(mongo.db);
  const sessions = new SessionStore(mongo.db, { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000 });
  const clients = new ServiceClients(options.addresses ?? {}, 10_000);
  const issuer = createTokenIssuer({ signingKey: options.signingKey, issuer: 'switchboard', audience: 'switchboard' });
  const deps: PortalDeps = {
    accounts,
    sessions,
    signIns: new SignInLog(mongo.db, logger),
    throttle: new SignInThrottle(options.ipFailures ?? 20, 15 * 60_000),
    oidc: new OidcProviders(mongo.db, options.oidcProviders ?? []),
    clients,
    tokens: new UserTokens(issuer, 300, clock.now),
    logger,
    publicOrigin: ORIGIN,
    lockout: { attempts: 5, lockMs: 15 * 60_000 },
    now: clock.now,
  };
  const app = createPortalApp(deps);
  return {
    app,
    deps,
    clock,
    db: mongo.db,
    /** Creates (or replaces) file accounts, each with password `<username>-pw`. */
    async accounts(list: readonly Omit<Account, 'passwordHash' | 'failedAttempts' | 'lockedUntil' | 'source'>[]) {
      await accounts.replaceFileAccounts(
        await Promise.all(
          list.map(async (account) => ({ ...account, passwordHash: await hashPassword(`${account.username}-pw`) })),
        ),
      );
    },
    browser: (address = '192.0.2.10') => new TestBrowser(app, address),
    async stop() {
      clients.close();
      await mongo.close();
    },
  };
}

type App = ReturnType<typeof createPortalApp>;

/** A client keeping cookies like a browser, sending this portal's Origin with every change. */
export class TestBrowser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly app: App,
    private readonly address: string,
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size)
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    if (init.method && init.method !== 'GET' && !headers.has('origin')) headers.set('origin', ORIGIN);
    const response = await this.app.request(new URL(path, ORIGIN).toString(), { ...init, headers }, {
      incoming: { socket: { remoteAddress: this.address } },
    } as never);
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attributes.some((attribute) => /max-age=0/i.test(attribute.trim()));
      if (expired || value.join('=') === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return response;
  }

  /** A form post as the browser sends it. */
  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  json(path: string, method: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  /** The `_csrf` value of the last form on a page. */
  static csrfOf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error('no _csrf field on the page');
    return match[1]!;
  }

  /** Signs in through the sign-in form, as a person does. */
  async signIn(tenant: string, username: string, password = `${username}-pw`): Promise<Response> {
    const page = await (await this.request('/anmelden')).text();
    return this.post('/anmelden', { _csrf: TestBrowser.csrfOf(page), tenant, username, password, next: '/' });
  }
}
