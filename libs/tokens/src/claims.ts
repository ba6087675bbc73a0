/** What a token says about its bearer; the kit checks the role against its list of roles. */
export interface TokenClaims {
  readonly subject: string;
  readonly tenantId: string;
  readonly role: string;
  /** A supervisor's departments. */
  readonly departments?: readonly string[];
}

/** Claim that carries the tenant id (`tid`, as in Microsoft Entra tokens). */
export const TENANT_CLAIM = 'tid';
export const ROLE_CLAIM = 'role';
/** Claim that carries a supervisor's department ids. */
export const DEPARTMENTS_CLAIM = 'depts';
/** The tenant of a token that is not one tenant's (service tokens): such roles address every tenant. */
export const ANY_TENANT = '*';

export interface TtlBounds {
  readonly defaultSeconds: number;
  readonly maxSeconds: number;
}

/** A person's token: short, so a leaked one is soon useless; a working day at most. */
export const USER_TOKEN_TTL: TtlBounds = { defaultSeconds: 15 * 60, maxSeconds: 12 * 3_600 };
/**
 * A service's own token lives in a Secret that services re-read when it changes; it is renewed
 * with the signing key (at least yearly).
 */
export const SERVICE_TOKEN_TTL: TtlBounds = { defaultSeconds: 90 * 86_400, maxSeconds: 366 * 86_400 };

export function ttlBounds(role: string): TtlBounds {
  return role === 'service' ? SERVICE_TOKEN_TTL : USER_TOKEN_TTL;
}
