import {
  createTokenIssuer,
  generateSigningKey,
  publicKeyOf,
  ANY_TENANT,
  type PublicKeySet,
  type SigningKey,
  type TokenClaims,
} from '@switchboard/tokens';

/** A key pair made for one test run, and tokens signed with it. */
export interface TestTokens {
  /** What a service under test needs to verify these tokens (`AUTH_PUBLIC_KEYS`). */
  readonly env: { readonly AUTH_PUBLIC_KEYS: string };
  /** What the CLI (or another issuer) needs to mint with the same key (`AUTH_SIGNING_KEY`). */
  readonly issuerEnv: { readonly AUTH_SIGNING_KEY: string };
  readonly publicKeys: PublicKeySet;
  readonly signingKey: SigningKey;
  /** A token with issuer and audience `switchboard`, 15 minutes by default (service tokens 90 days). */
  token(claims: TokenClaims, ttlSeconds?: number): Promise<string>;
  /** A service's own token (`AUTH_SERVICE_TOKEN`), as `sb token --role service --subject <name>` makes it. */
  serviceToken(service: string): Promise<string>;
}

/** A fresh ES256 key pair (never the same twice: no test can accept another run's tokens). */
export function testTokens(): TestTokens {
  const signingKey = generateSigningKey();
  const publicKeys = { keys: [publicKeyOf(signingKey)] };
  const issuer = createTokenIssuer({ signingKey, issuer: 'switchboard', audience: 'switchboard' });
  return {
    env: { AUTH_PUBLIC_KEYS: JSON.stringify(publicKeys) },
    issuerEnv: { AUTH_SIGNING_KEY: JSON.stringify(signingKey) },
    publicKeys,
    signingKey,
    token: (claims, ttlSeconds) => issuer.issue(claims, ttlSeconds),
    serviceToken: (service) => issuer.issue({ subject: service, tenantId: ANY_TENANT, role: 'service' }),
  };
}
