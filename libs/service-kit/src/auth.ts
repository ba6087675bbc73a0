import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/**
 * Who is calling. `admin` (the tenant's administrator), `supervisor` (a department lead: only the
 * departments in the token), `finance` (usage, invoices, exports) and `agent` (their own state; the
 * token's subject is their agent id) act for their own tenant only; `operator` (the provider's
 * staff) and `service` (Switchboard's own services, e.g. routing serving every tenant's calls)
 * may address any tenant. What each role may call is declared per method (policy.ts).
 */
export const ROLES = ['admin', 'supervisor', 'finance', 'agent', 'operator', 'service'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly subject: string;
  readonly tenantId: string;
  readonly role: Role;
  /** A supervisor's departments (claim `depts`); empty for every other role. */
  readonly departments?: readonly string[];
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
/** Claim that carries a supervisor's department ids. */
const DEPARTMENTS_CLAIM = 'depts';

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
      const departments = payload[DEPARTMENTS_CLAIM];
      if (
        departments !== undefined &&
        !(Array.isArray(departments) && departments.every((d) => typeof d === 'string'))
      ) {
        throw new AuthError(`token claim ${DEPARTMENTS_CLAIM} must be a list of department ids`);
      }
      return { subject: payload.sub, tenantId, role, ...(departments ? { departments: departments as string[] } : {}) };
    },
    async issue(principal, ttlSeconds = 3_600) {
      const claims: Record<string, unknown> = { [TENANT_CLAIM]: principal.tenantId, role: principal.role };
      if (principal.departments?.length) claims[DEPARTMENTS_CLAIM] = principal.departments;
      return new SignJWT(claims)
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
