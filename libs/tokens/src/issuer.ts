import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { DEPARTMENTS_CLAIM, ROLE_CLAIM, TENANT_CLAIM, ttlBounds, type TokenClaims } from './claims.js';
import { parseSigningKey, TOKEN_ALGORITHM, type SigningKey } from './keys.js';

export interface IssuerSettings {
  signingKey: SigningKey;
  issuer: string;
  audience: string;
}

/** Mints tokens. Only the issuer has one: services are given public keys and their own token. */
export interface TokenIssuer {
  /** The kid of the signing key, written into every token's header. */
  readonly kid: string;
  /** A signed token; `ttlSeconds` defaults by role and may not exceed the role's bound. */
  issue(claims: TokenClaims, ttlSeconds?: number): Promise<string>;
}

export function createTokenIssuer({ signingKey, issuer, audience }: IssuerSettings): TokenIssuer {
  const key = { ...signingKey };
  return {
    kid: signingKey.kid,
    async issue(claims, ttlSeconds) {
      const bounds = ttlBounds(claims.role);
      const ttl = ttlSeconds ?? bounds.defaultSeconds;
      if (!Number.isInteger(ttl) || ttl <= 0 || ttl > bounds.maxSeconds) {
        throw new RangeError(
          `a token of role ${claims.role} lives between 1 s and ${bounds.maxSeconds} s (${describeSeconds(bounds.maxSeconds)}); got ${ttl}`,
        );
      }
      const payload: Record<string, unknown> = { [TENANT_CLAIM]: claims.tenantId, [ROLE_CLAIM]: claims.role };
      if (claims.departments?.length) payload[DEPARTMENTS_CLAIM] = [...claims.departments];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: signingKey.kid, typ: 'JWT' })
        .setSubject(claims.subject)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(key);
    },
  };
}

export function describeSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

type Env = Record<string, string | undefined>;

/** The issuer's key from `AUTH_SIGNING_KEY` (the private JWK) or the file `AUTH_SIGNING_KEY_FILE`. */
function signingKeyFromEnv(env: Env): SigningKey {
  const inline = env['AUTH_SIGNING_KEY'];
  const file = env['AUTH_SIGNING_KEY_FILE'];
  if (inline && file) throw new Error('set AUTH_SIGNING_KEY or AUTH_SIGNING_KEY_FILE, not both');
  if (inline) return parseSigningKey(inline, 'AUTH_SIGNING_KEY');
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`AUTH_SIGNING_KEY_FILE ${file} cannot be read: ${(error as Error).message}`);
    }
    return parseSigningKey(text, `AUTH_SIGNING_KEY_FILE ${file}`);
  }
  throw new Error(
    'minting a token needs the signing key: set AUTH_SIGNING_KEY_FILE (or AUTH_SIGNING_KEY) to the private JWK `sb keys generate` wrote',
  );
}

/** The issuer as the CLI sets it up: key from the environment, `AUTH_JWT_ISSUER`/`_AUDIENCE` or `switchboard`. */
export function issuerFromEnv(env: Env): TokenIssuer {
  return createTokenIssuer({
    signingKey: signingKeyFromEnv(env),
    issuer: env['AUTH_JWT_ISSUER'] || 'switchboard',
    audience: env['AUTH_JWT_AUDIENCE'] || 'switchboard',
  });
}
