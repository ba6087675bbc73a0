import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** The one signing algorithm: ECDSA on P-256 with SHA-256 (see README for why not EdDSA). */
export const TOKEN_ALGORITHM = 'ES256';
const CURVE = 'P-256';
/** The key in use and, during a rotation, the previous one. */
export const MAX_PUBLIC_KEYS = 2;

/** A public EC key as a JWK (RFC 7517) with the key id tokens name in their `kid` header. */
export interface PublicKey {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg?: 'ES256';
  use?: 'sig';
}

/** A JWKS document: what services are given to verify tokens. */
export interface PublicKeySet {
  keys: PublicKey[];
}

/** The private key only the issuer holds (the CLI, test harnesses, the local stack). */
export interface SigningKey extends PublicKey {
  d: string;
}

/** A key document that cannot be used; the message says what is wrong with it. */
export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new KeyFormatError(`${what} is not JSON: ${(error as Error).message}`);
  }
}

function checkKey(value: unknown, what: string, kind: 'public' | 'private'): PublicKey | SigningKey {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new KeyFormatError(`${what} is not a JWK object`);
  const key = value as Record<string, unknown>;
  const named = typeof key['kid'] === 'string' && key['kid'] ? `${what} (kid "${key['kid']}")` : what;
  if (typeof key['kid'] !== 'string' || !key['kid'].trim()) throw new KeyFormatError(`${what} has no kid (key id)`);
  if (key['kty'] !== 'EC' || key['crv'] !== CURVE) {
    throw new KeyFormatError(
      `${named} must be an EC key on ${CURVE} (kty "EC", crv "${CURVE}") for ${TOKEN_ALGORITHM}`,
    );
  }
  if (key['alg'] !== undefined && key['alg'] !== TOKEN_ALGORITHM) {
    throw new KeyFormatError(`${named} has alg "${String(key['alg'])}"; only ${TOKEN_ALGORITHM} is accepted`);
  }
  if (key['use'] !== undefined && key['use'] !== 'sig')
    throw new KeyFormatError(`${named} has use "${String(key['use'])}", not "sig"`);
  for (const member of ['x', 'y'] as const) {
    if (typeof key[member] !== 'string' || !BASE64URL.test(key[member])) {
      throw new KeyFormatError(`${named} lacks its coordinate ${member} (base64url)`);
    }
  }
  if (kind === 'public' && key['d'] !== undefined) {
    throw new KeyFormatError(`${named} is a private key (it has "d"): services get only public keys`);
  }
  if (kind === 'private' && (typeof key['d'] !== 'string' || !BASE64URL.test(key['d']))) {
    throw new KeyFormatError(`${named} is not a private key (it has no "d")`);
  }
  return key as unknown as PublicKey | SigningKey;
}

/** A public key as Node's KeyObject, which jose verifies with directly. */
export function importPublicKey(key: PublicKey, what = `key "${key.kid}"`): KeyObject {
  try {
    return createPublicKey({ key: { kty: key.kty, crv: key.crv, x: key.x, y: key.y }, format: 'jwk' });
  } catch (error) {
    throw new KeyFormatError(`${what} is not a valid ${CURVE} point: ${(error as Error).message}`);
  }
}

/**
 * Reads a JWKS document: one or two public ES256 keys, each with its own kid. A private key, a
 * key of another type or a duplicate kid is refused with the reason.
 */
export function parsePublicKeys(text: string, what = 'the public key set'): PublicKeySet {
  const document = parseJson(text, what);
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new KeyFormatError(`${what} is not a JWKS document ({"keys": [...]})`);
  if (keys.length === 0 || keys.length > MAX_PUBLIC_KEYS) {
    throw new KeyFormatError(
      `${what} holds ${keys.length} keys; it needs the key in use and at most one previous key (1 or ${MAX_PUBLIC_KEYS})`,
    );
  }
  const checked = keys.map((key, index) => checkKey(key, `${what}: key ${index + 1}`, 'public') as PublicKey);
  const kids = checked.map((key) => key.kid);
  const duplicate = kids.find((kid, index) => kids.indexOf(kid) !== index);
  if (duplicate !== undefined) throw new KeyFormatError(`${what} holds kid "${duplicate}" twice`);
  for (const key of checked) importPublicKey(key, `${what}: kid "${key.kid}"`);
  return { keys: checked };
}

/** Reads the issuer's private key (a JWK with kid and "d"). */
export function parseSigningKey(text: string, what = 'the signing key'): SigningKey {
  const key = checkKey(parseJson(text, what), what, 'private') as SigningKey;
  try {
    createPrivateKey({ key: { ...key }, format: 'jwk' });
  } catch (error) {
    throw new KeyFormatError(
      `${what} (kid "${key.kid}") is not a valid ${CURVE} private key: ${(error as Error).message}`,
    );
  }
  return key;
}

/** The public half of a signing key, as it goes into the services' JWKS. */
export function publicKeyOf(key: SigningKey): PublicKey {
  return { kty: key.kty, crv: key.crv, x: key.x, y: key.y, kid: key.kid, alg: TOKEN_ALGORITHM, use: 'sig' };
}

/** RFC 7638 thumbprint (SHA-256 over the required members in lexical order). */
function thumbprint(key: PublicKey): string {
  return createHash('sha256')
    .update(JSON.stringify({ crv: key.crv, kty: key.kty, x: key.x, y: key.y }))
    .digest('base64url');
}

/**
 * A fresh key pair. The kid is the day of creation and the start of the key's thumbprint
 * (`2026-12-03-Xk2f9aQe`): unique, and it tells an operator which key is the newer one.
 */
export function generateSigningKey(now = new Date()): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: CURVE });
  const jwk = privateKey.export({ format: 'jwk' });
  const key = { kty: 'EC', crv: CURVE, x: jwk.x!, y: jwk.y!, d: jwk.d!, kid: '' } as SigningKey;
  key.kid = `${now.toISOString().slice(0, 10)}-${thumbprint(key).slice(0, 8)}`;
  return { ...key, alg: TOKEN_ALGORITHM, use: 'sig' };
}

/**
 * The JWKS services get after a new key was added: the new key first, then the keys that still
 * verify. A set that already holds two keys is refused: the retired one has to go first.
 */
export function addPublicKey(set: PublicKeySet | undefined, key: PublicKey): PublicKeySet {
  const existing = set?.keys ?? [];
  if (existing.some((other) => other.kid === key.kid))
    throw new KeyFormatError(`the key set already holds kid "${key.kid}"`);
  if (existing.length >= MAX_PUBLIC_KEYS) {
    throw new KeyFormatError(
      `the key set already holds ${existing.length} keys (${existing.map((other) => other.kid).join(', ')}): ` +
        'remove the retired one first (sb keys retire --kid …)',
    );
  }
  return { keys: [key, ...existing] };
}

/** The JWKS without a retired key; the last key cannot be removed. */
export function removePublicKey(set: PublicKeySet, kid: string): PublicKeySet {
  const keys = set.keys.filter((key) => key.kid !== kid);
  if (keys.length === set.keys.length) {
    throw new KeyFormatError(
      `the key set holds no kid "${kid}" (it holds ${set.keys.map((key) => key.kid).join(', ')})`,
    );
  }
  if (keys.length === 0) throw new KeyFormatError(`kid "${kid}" is the only key of the set: add its successor first`);
  return { keys };
}
