import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { DEPARTMENTS_CLAIM, ROLE_CLAIM, TENANT_CLAIM, type TokenClaims } from './claims.js';
import { importPublicKey, TOKEN_ALGORITHM, type PublicKeySet } from './keys.js';

/** A token that is refused; the message says why (it reaches the caller as UNAUTHENTICATED). */
export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** Public keys by kid, imported once. */
export interface PublicKeyRing {
  readonly kids: readonly string[];
  get(kid: string): KeyObject | undefined;
}

export function publicKeyRing(set: PublicKeySet): PublicKeyRing {
  const keys = new Map(set.keys.map((key) => [key.kid, importPublicKey(key)]));
  return { kids: [...keys.keys()], get: (kid) => keys.get(kid) };
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
  /** The time expiry is judged at (default now): checks of a checked-in token that must not age. */
  currentDate?: Date;
}

/** The kid a token names, or undefined (also for something that is not a JWT at all). */
export function tokenKid(token: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

function reason(error: unknown, options: VerifyOptions): string {
  if (error instanceof TokenError) return error.message;
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `token issuer not accepted (expected "${options.issuer}")`;
    if (error.claim === 'aud') return `token audience not accepted (expected "${options.audience}")`;
    if (error.claim === 'nbf' || error.claim === 'iat') return 'token not yet valid';
    return `token claim ${error.claim} invalid: ${error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return `token algorithm not accepted (only ${TOKEN_ALGORITHM})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  return 'token invalid (not a signed JWT)';
}

/**
 * Checks signature (ES256 only, the key named by `kid`), expiry, `iss` and `aud`, and reads the
 * claims. Throws TokenError with the reason.
 */
export async function verifyToken(token: string, ring: PublicKeyRing, options: VerifyOptions): Promise<TokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        if (header.alg !== TOKEN_ALGORITHM) throw new errors.JOSEAlgNotAllowed(`alg ${header.alg} not allowed`);
        if (!header.kid) throw new TokenError('token has no kid (key id) in its header');
        const key = ring.get(header.kid);
        if (!key) {
          throw new TokenError(
            `token signed by an unknown key (kid "${header.kid}"); this service accepts ${ring.kids.map((kid) => `"${kid}"`).join(', ')}`,
          );
        }
        return key;
      },
      { ...options, algorithms: [TOKEN_ALGORITHM], requiredClaims: ['exp', 'sub'] },
    ));
  } catch (error) {
    throw new TokenError(reason(error, options), { cause: error });
  }
  const tenantId = payload[TENANT_CLAIM];
  const role = payload[ROLE_CLAIM];
  if (typeof payload.sub !== 'string' || typeof tenantId !== 'string' || typeof role !== 'string') {
    throw new TokenError(`token lacks sub, ${TENANT_CLAIM} or ${ROLE_CLAIM}`);
  }
  const departments = payload[DEPARTMENTS_CLAIM];
  if (departments !== undefined && !(Array.isArray(departments) && departments.every((d) => typeof d === 'string'))) {
    throw new TokenError(`token claim ${DEPARTMENTS_CLAIM} must be a list of department ids`);
  }
  return { subject: payload.sub, tenantId, role, ...(departments ? { departments: departments as string[] } : {}) };
}
