export {
  ANY_TENANT,
  DEPARTMENTS_CLAIM,
  ROLE_CLAIM,
  SERVICE_TOKEN_TTL,
  TENANT_CLAIM,
  USER_TOKEN_TTL,
  ttlBounds,
  type TokenClaims,
  type TtlBounds,
} from './claims.js';
export {
  KeyFormatError,
  MAX_PUBLIC_KEYS,
  TOKEN_ALGORITHM,
  addPublicKey,
  generateSigningKey,
  parsePublicKeys,
  parseSigningKey,
  publicKeyOf,
  removePublicKey,
  type PublicKey,
  type PublicKeySet,
  type SigningKey,
} from './keys.js';
export {
  createTokenIssuer,
  describeSeconds,
  issuerFromEnv,
  signingKeyFromEnv,
  type IssuerSettings,
  type TokenIssuer,
} from './issuer.js';
export { TokenError, publicKeyRing, tokenKid, verifyToken, type PublicKeyRing, type VerifyOptions } from './verify.js';
