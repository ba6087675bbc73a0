import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/**
 * Who is calling. `admin` and `agent` act for their own tenant only; `operator` (the provider's
 * staff) and `service` (Switchboard's own services, e.g. routing serving every tenant's calls)
 * may address any tenant.
 */
export const ROLES = ['admin', 'agent', 'operator', 'service'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly subject: string;
  readonly tenantId: string;
  readonly role: Role;
}

export interface AuthSettings {
  secret: string;
  issuer: string;
  audience: string;
}

export class AuthError extends Error {
  override readonly name = 'AuthError';
}

const ALGORITHM = 'HS256';
/** Claim that carries the tenant id (`tid`, as in Microsoft Entra tokens). */
const TENANT_CLAIM = 'tid';

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function crossTenant(role: Role): boolean {
  return role === 'operator' || role === 'service';
}

export function mayAccessTenant(principal: Principal, tenantId: string): boolean {
  return crossTenant(principal.role) || principal.tenantId === tenantId;
}

export interface Authenticator {
  verify(token: string): Promise<Principal>;
  issue(principal: Principal, ttlSeconds?: number): Promise<string>;
}

/** Verifies (and, for the CLI, services and tests, issues) HS256 bearer JWTs with jose. */
export function createAuthenticator({ secret, issuer, audience }: AuthSettings): Authenticator {
  const key = new TextEncoder().encode(secret);
  return {
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { issuer, audience, algorithms: [ALGORITHM] }));
      } catch (error) {
        const reason = error instanceof joseErrors.JWTExpired ? 'token expired' : 'token invalid';
        throw new AuthError(reason, { cause: error });
      }
      const tenantId = payload[TENANT_CLAIM];
      const role = payload['role'];
      if (typeof payload.sub !== 'string' || typeof tenantId !== 'string' || !isRole(role)) {
        throw new AuthError(`token lacks sub, ${TENANT_CLAIM} or a role (one of ${ROLES.join(', ')})`);
      }
      return { subject: payload.sub, tenantId, role };
    },
    async issue(principal, ttlSeconds = 3_600) {
      return new SignJWT({ [TENANT_CLAIM]: principal.tenantId, role: principal.role })
        .setProtectedHeader({ alg: ALGORITHM })
        .setSubject(principal.subject)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
  };
}
