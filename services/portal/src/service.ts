import { readFileSync } from 'node:fs';
import type { ServiceDefinition } from '@switchboard/service-kit';
import { createTokenIssuer, parseSigningKey } from '@switchboard/tokens';
import { createPortalApp } from './app.js';
import { ACCOUNT_INDEXES, AccountStore } from './auth/accounts.js';
import { readAccountsFile } from './auth/accounts-file.js';
import { OIDC_INDEXES, OidcProviders, readOidcFile } from './auth/oidc.js';
import { SESSION_INDEXES, SessionStore } from './auth/sessions.js';
import { SIGN_IN_LOG_INDEXES, SignInLog } from './auth/sign-in-log.js';
import { SignInThrottle } from './auth/throttle.js';
import { portalConfigSchema } from './config.js';
import type { PortalDeps } from './context.js';
import { ServiceClients, UserTokens } from './rpc.js';
import { startWebServer } from './web-server.js';

const SWEEP_INTERVAL_MS = 5 * 60_000;

/**
 * The administrators' web portal: server-rendered pages and a JSON API over the services' gRPC
 * APIs, called with a short-lived token minted per signed-in user. Its own MongoDB database holds
 * accounts, sessions and the sign-in log; no NATS, no gRPC server of its own.
 */
export const portalService: ServiceDefinition<typeof portalConfigSchema> = {
  name: 'portal',
  version: '0.1.0',
  config: portalConfigSchema,
  mongo: { indexes: [...ACCOUNT_INDEXES, ...SESSION_INDEXES, ...SIGN_IN_LOG_INDEXES, ...OIDC_INDEXES] },
  async start(context) {
    const { config, logger } = context;
    const db = context.mongo!.db;
    let signingKeyText: string;
    try {
      signingKeyText = readFileSync(config.PORTAL_SIGNING_KEY_FILE, 'utf8');
    } catch (error) {
      throw new Error(
        `PORTAL_SIGNING_KEY_FILE ${config.PORTAL_SIGNING_KEY_FILE} cannot be read: ${(error as Error).message}`,
      );
    }
    const issuer = createTokenIssuer({
      signingKey: parseSigningKey(signingKeyText, `PORTAL_SIGNING_KEY_FILE ${config.PORTAL_SIGNING_KEY_FILE}`),
      issuer: config.AUTH_JWT_ISSUER,
      audience: config.AUTH_JWT_AUDIENCE,
    });

    const accounts = new AccountStore(db);
    const sessions = new SessionStore(db, {
      idleMs: config.PORTAL_SESSION_IDLE_MINUTES * 60_000,
      maxMs: config.PORTAL_SESSION_MAX_HOURS * 3_600_000,
    });
    if (config.PORTAL_ACCOUNTS_FILE) {
      const listed = await readAccountsFile(config.PORTAL_ACCOUNTS_FILE);
      const removed = await accounts.replaceFileAccounts(listed);
      for (const id of removed) {
        const [tenantId, username] = [id.slice(0, id.lastIndexOf('/')), id.slice(id.lastIndexOf('/') + 1)];
        await sessions.deleteForUser(tenantId, username);
      }
      logger.info({ accounts: listed.length, removed }, 'accounts file applied');
    }

    const now = () => new Date();
    const clients = new ServiceClients(
      {
        directory: config.DIRECTORY_ADDRESS,
        presence: config.PRESENCE_ADDRESS,
        ivr: config.IVR_ADDRESS,
        rating: config.RATING_ADDRESS,
        billing: config.BILLING_ADDRESS,
        fax: config.FAX_ADDRESS,
        routing: config.ROUTING_ADDRESS,
      },
      config.PORTAL_RPC_TIMEOUT_MS,
    );
    const signIns = new SignInLog(db, logger);
    const oidc = new OidcProviders(db, config.PORTAL_OIDC_FILE ? await readOidcFile(config.PORTAL_OIDC_FILE) : []);
    if (oidc.tenants.length) logger.info({ tenants: oidc.tenants }, 'identity providers configured');
    const lockMs = config.PORTAL_LOCKOUT_MINUTES * 60_000;
    const deps: PortalDeps = {
      accounts,
      sessions,
      signIns,
      throttle: new SignInThrottle(config.PORTAL_IP_FAILURES, lockMs),
      oidc,
      clients,
      tokens: new UserTokens(issuer, config.PORTAL_TOKEN_TTL_MINUTES * 60, now),
      logger,
      publicOrigin: config.PORTAL_PUBLIC_ORIGIN,
      lockout: { attempts: config.PORTAL_LOCKOUT_ATTEMPTS, lockMs },
      now,
    };

    const sweep = setInterval(() => {
      void context.track(
        Promise.all([sessions.sweep(now()), signIns.sweep(now()), oidc.sweep(now())]).catch((error: unknown) =>
          logger.warn({ err: error }, 'session sweep failed'),
        ),
      );
    }, SWEEP_INTERVAL_MS);
    sweep.unref();

    const web = await startWebServer(createPortalApp(deps), config.BIND_HOST, config.PORTAL_PORT);
    context.onShutdown(async () => {
      clearInterval(sweep);
      await web.close();
      clients.close();
    });
    // libs/stack reads the port from this line (PORTAL_PORT=0 asks for a free one).
    logger.info({ portalPort: web.port }, 'portal listening');
  },
};
