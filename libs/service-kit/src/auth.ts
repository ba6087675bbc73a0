import { readFileSync } from 'node:fs';
import {
  ANY_TENANT,
  TokenError,
  parsePublicKeys,
  publicKeyRing,
  tokenKid,
  verifyToken,
  type PublicKeyRing,
  type PublicKeySet,
} from '@switchboard/tokens';
import { secretFile } from './secret-file.js';

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

/** The issuer's public keys: a JWKS already read, or a file re-read when it changes. */
export type PublicKeySource = PublicKeySet | { file: string };

export interface AuthSettings {
  publicKeys: PublicKeySource;
  issuer: string;
  audience: string;
  /** Told when a changed key file cannot be used (the keys read before stay in force). */
  onKeyFileRejected?: (error: Error) => void;
}

export class AuthError extends Error {
  override readonly name = 'AuthError';
}

/** `*`: the tenant claim of a service token, which is no one tenant's. */
export const SERVICE_TENANT = ANY_TENANT;

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function crossTenant(role: Role): boolean {
  return role === 'operator' || role === 'service';
}

export function mayAccessTenant(principal: Principal, tenantId: string): boolean {
  return crossTenant(principal.role) || principal.tenantId === tenantId;
}

/**
 * Checks bearer tokens. Services only verify: minting needs the signing key, which only the issuer
 * (the CLI, test harnesses, the local stack) holds, through `@switchboard/tokens`.
 */
export interface Authenticator {
  verify(token: string): Promise<Principal>;
}

/** How often a key file is looked at again (one stat) even when every token's kid is known. */
const KEY_FILE_RECHECK_MS = 10_000;

/** ES256 tokens of the keys in the JWKS (by kid), with `iss` and `aud` checked; see @switchboard/tokens. */
export function createAuthenticator({ publicKeys, issuer, audience, onKeyFileRejected }: AuthSettings): Authenticator {
  const options = { issuer, audience };
  const keys = keySource(publicKeys, onKeyFileRejected);
  return {
    async verify(token) {
      const ring = await keys.current(tokenKid(token));
      let claims;
      try {
        claims = await verifyToken(token, ring, options);
      } catch (error) {
        throw new AuthError(error instanceof TokenError ? error.message : 'token invalid', { cause: error });
      }
      if (!isRole(claims.role)) throw new AuthError(`token role "${claims.role}" is not one of ${ROLES.join(', ')}`);
      return { ...claims, role: claims.role };
    },
  };
}

interface KeySource {
  /** The keys to check a token with; a file is looked at again when the token's kid is new to it. */
  current(kid: string | undefined): Promise<PublicKeyRing>;
}

function keySource(source: PublicKeySource, onRejected?: (error: Error) => void): KeySource {
  if (!('file' in source)) {
    const ring = publicKeyRing(source);
    return { current: async () => ring };
  }
  const what = `the JWKS in ${source.file}`;
  // Read at once: a service must not start with keys it cannot use.
  let ring = publicKeyRing(parsePublicKeys(readFileSync(source.file, 'utf8'), what));
  const file = secretFile(source.file);
  let checkedAt = 0;
  return {
    async current(kid) {
      const unknownKid = kid !== undefined && ring.get(kid) === undefined;
      if (!unknownKid && Date.now() - checkedAt < KEY_FILE_RECHECK_MS) return ring;
      checkedAt = Date.now();
      try {
        const { text, changed } = await file.read();
        if (changed) ring = publicKeyRing(parsePublicKeys(text, what));
      } catch (error) {
        onRejected?.(error as Error);
      }
      return ring;
    },
  };
}
