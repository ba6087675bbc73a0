import type { PortalDeps } from '../context.js';
import type { Session } from './sessions.js';
import { normaliseUsername } from './accounts.js';
import { UNUSABLE_HASH, verifyPassword } from './passwords.js';

export type SignInResult =
  | { outcome: 'ok'; cookie: string; session: Session }
  | { outcome: 'invalid' }
  | { outcome: 'locked'; lockedUntil: Date }
  | { outcome: 'throttled'; retryAfterSeconds: number };

export interface Credentials {
  /** Empty for the provider's operators. */
  tenantId: string;
  username: string;
  password: string;
  /** The client's address, for the per-address throttle and the log. */
  address: string;
}

/**
 * A local sign-in: the address's throttle first, then the password (scrypt; a dummy hash for an
 * unknown account so both take as long), then the account's lock-out count. Every outcome is
 * recorded in the sign-in log.
 */
export async function signIn(deps: PortalDeps, credentials: Credentials): Promise<SignInResult> {
  const now = deps.now();
  const tenantId = credentials.tenantId.trim();
  const username = normaliseUsername(credentials.username);
  const record = (outcome: Parameters<PortalDeps['signIns']['record']>[0]['outcome'], lockedUntil?: Date) =>
    deps.signIns.record({
      at: now,
      tenantId,
      username,
      address: credentials.address,
      outcome,
      via: 'local',
      ...(lockedUntil ? { lockedUntil } : {}),
    });

  const waitMs = deps.throttle.waitMs(credentials.address, now.getTime());
  if (waitMs > 0) {
    await record('throttled');
    return { outcome: 'throttled', retryAfterSeconds: Math.ceil(waitMs / 1_000) };
  }
  const account = username ? await deps.accounts.find(tenantId, username) : null;
  if (!account) {
    await verifyPassword(credentials.password, UNUSABLE_HASH);
    deps.throttle.fail(credentials.address, now.getTime());
    await record('unknown-account');
    return { outcome: 'invalid' };
  }
  const matches = await verifyPassword(credentials.password, account.passwordHash);
  const attempt = await deps.accounts.recordAttempt(account, matches, now, deps.lockout);
  if (attempt.outcome === 'locked') {
    deps.throttle.fail(credentials.address, now.getTime());
    await record('locked');
    return { outcome: 'locked', lockedUntil: attempt.lockedUntil };
  }
  if (attempt.outcome === 'failed') {
    deps.throttle.fail(credentials.address, now.getTime());
    await record('bad-password', attempt.lockedUntil ?? undefined);
    return attempt.lockedUntil ? { outcome: 'locked', lockedUntil: attempt.lockedUntil } : { outcome: 'invalid' };
  }
  const { cookie, session } = await deps.sessions.create(
    {
      tenantId: account.tenantId,
      username: account.username,
      role: account.role,
      departments: account.departments,
      subject: account.subject,
      via: 'local',
    },
    now,
  );
  await record('ok');
  return { outcome: 'ok', cookie, session };
}
