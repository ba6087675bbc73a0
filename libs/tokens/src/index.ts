export { ANY_TENANT, SERVICE_TOKEN_TTL, USER_TOKEN_TTL, type TokenClaims } from './claims.js';
export {
  addPublicKey,
  generateSigningKey,
  parsePublicKeys,
  parseSigningKey,
  publicKeyOf,
  removePublicKey,
  type PublicKeySet,
  type SigningKey,
} from './keys.js';
export { createTokenIssuer, describeSeconds, issuerFromEnv, type TokenIssuer } from './issuer.js';
export { TokenError, publicKeyRing, tokenKid, verifyToken, type PublicKeyRing } from './verify.js';
