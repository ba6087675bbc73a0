import { createPublicKey } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  addPublicKey,
  createTokenIssuer,
  generateSigningKey,
  issuerFromEnv,
  parsePublicKeys,
  parseSigningKey,
  publicKeyOf,
  publicKeyRing,
  removePublicKey,
  verifyToken,
  type SigningKey,
} from './index.js';

const settings = { issuer: 'switchboard', audience: 'switchboard' };
const current = generateSigningKey(new Date('2026-12-03T08:00:00Z'));
const previous = generateSigningKey(new Date('2026-06-01T08:00:00Z'));
const ring = publicKeyRing({ keys: [publicKeyOf(current), publicKeyOf(previous)] });
const anna = { subject: 'anna', tenantId: 't-kropp', role: 'admin' };

const issue = (key: SigningKey, ttl?: number, overrides: Partial<typeof settings> = {}) =>
  createTokenIssuer({ signingKey: key, ...settings, ...overrides }).issue(anna, ttl);

describe('verifyToken', () => {
  it('accepts tokens of both active keys, each found by its kid', async () => {
    expect(await verifyToken(await issue(current), ring, settings)).toEqual(anna);
    expect(await verifyToken(await issue(previous), ring, settings)).toEqual(anna);
  });

  it('carries a supervisor’s departments', async () => {
    const token = await createTokenIssuer({ signingKey: current, ...settings }).issue({
      subject: 'sue',
      tenantId: 't-kropp',
      role: 'supervisor',
      departments: ['d-buergerbuero'],
    });
    expect(await verifyToken(token, ring, settings)).toMatchObject({ departments: ['d-buergerbuero'] });
  });

  it('refuses a token of a key the set does not hold, naming its kid', async () => {
    const stranger = generateSigningKey();
    await expect(verifyToken(await issue(stranger), ring, settings)).rejects.toThrow(
      `token signed by an unknown key (kid "${stranger.kid}"); this service accepts "${current.kid}", "${previous.kid}"`,
    );
  });

  it('refuses a token whose kid is known but whose signature is another key’s', async () => {
    const impostor = { ...generateSigningKey(), kid: current.kid };
    await expect(verifyToken(await issue(impostor), ring, settings)).rejects.toThrow('token signature invalid');
  });

  it('refuses an expired token', async () => {
    const token = await new SignJWT({ tid: 't-kropp', role: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid })
      .setSubject('anna')
      .setIssuer('switchboard')
      .setAudience('switchboard')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3_600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign({ ...current });
    await expect(verifyToken(token, ring, settings)).rejects.toThrow('token expired');
  });

  it('refuses a token of another issuer or audience', async () => {
    await expect(verifyToken(await issue(current, undefined, { issuer: 'elsewhere' }), ring, settings)).rejects.toThrow(
      'token issuer not accepted (expected "switchboard")',
    );
    await expect(
      verifyToken(await issue(current, undefined, { audience: 'other-app' }), ring, settings),
    ).rejects.toThrow('token audience not accepted (expected "switchboard")');
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const publicPem = createPublicKey({ key: { ...publicKeyOf(current) }, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [publicPem, JSON.stringify(publicKeyOf(current))]) {
      const token = await new SignJWT({ tid: 't-kropp', role: 'operator' })
        .setProtectedHeader({ alg: 'HS256', kid: current.kid })
        .setSubject('mallory')
        .setIssuer('switchboard')
        .setAudience('switchboard')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(String(secret)));
      await expect(verifyToken(token, ring, settings)).rejects.toThrow('token algorithm not accepted (only ES256)');
    }
  });

  it('refuses an unsigned token (alg none)', async () => {
    const token = new UnsecuredJWT({ tid: 't-kropp', role: 'operator' })
      .setSubject('mallory')
      .setIssuer('switchboard')
      .setAudience('switchboard')
      .setExpirationTime('5m')
      .encode();
    await expect(verifyToken(token, ring, settings)).rejects.toThrow('token algorithm not accepted (only ES256)');
  });

  it('refuses a token without kid and a string that is no JWT', async () => {
    const token = await new SignJWT({ tid: 't-kropp', role: 'admin' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('anna')
      .setIssuer('switchboard')
      .setAudience('switchboard')
      .setExpirationTime('5m')
      .sign({ ...current });
    await expect(verifyToken(token, ring, settings)).rejects.toThrow('token has no kid (key id) in its header');
    await expect(verifyToken('not-a-jwt', ring, settings)).rejects.toThrow('token invalid (not a signed JWT)');
  });
});

describe('token lifetimes', () => {
  const issuer = createTokenIssuer({ signingKey: current, ...settings });
  const lifetime = async (token: Promise<string>) => {
    const [, payload] = (await token).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { iat: number; exp: number };
    return claims.exp - claims.iat;
  };

  it('gives a person 15 minutes and a service 90 days by default', async () => {
    expect(await lifetime(issuer.issue(anna))).toBe(900);
    expect(await lifetime(issuer.issue({ subject: 'ari-adapter', tenantId: '*', role: 'service' }))).toBe(90 * 86_400);
  });

  it('refuses a lifetime beyond the role’s bound', async () => {
    expect(await lifetime(issuer.issue(anna, 12 * 3_600))).toBe(43_200);
    await expect(issuer.issue(anna, 12 * 3_600 + 1)).rejects.toThrow(
      'a token of role admin lives between 1 s and 43200 s (12 h)',
    );
    await expect(issuer.issue({ ...anna, role: 'service' }, 367 * 86_400)).rejects.toThrow(/366 d/);
    await expect(issuer.issue(anna, 0)).rejects.toThrow(RangeError);
  });
});

describe('key documents', () => {
  const jwks = (keys: unknown[]) => JSON.stringify({ keys });

  it('reads a JWKS of one or two public keys', () => {
    expect(parsePublicKeys(jwks([publicKeyOf(current)])).keys.map((key) => key.kid)).toEqual([current.kid]);
    expect(parsePublicKeys(jwks([publicKeyOf(current), publicKeyOf(previous)])).keys).toHaveLength(2);
  });

  it('says what is wrong with a bad one', () => {
    expect(() => parsePublicKeys('{"keys": [', 'AUTH_PUBLIC_KEYS')).toThrow(/AUTH_PUBLIC_KEYS is not JSON/);
    expect(() => parsePublicKeys('[]')).toThrow('the public key set is not a JWKS document ({"keys": [...]})');
    expect(() => parsePublicKeys(jwks([]))).toThrow(/holds 0 keys/);
    const third = publicKeyOf(generateSigningKey());
    expect(() => parsePublicKeys(jwks([publicKeyOf(current), publicKeyOf(previous), third]))).toThrow(/holds 3 keys/);
    expect(() => parsePublicKeys(jwks([current]))).toThrow(
      /is a private key \(it has "d"\): services get only public keys/,
    );
    expect(() => parsePublicKeys(jwks([publicKeyOf(current), publicKeyOf(current)]))).toThrow(/twice/);
    expect(() => parsePublicKeys(jwks([{ ...publicKeyOf(current), kid: undefined }]))).toThrow(/has no kid/);
    expect(() => parsePublicKeys(jwks([{ ...publicKeyOf(current), crv: 'P-384' }]))).toThrow(
      /must be an EC key on P-256/,
    );
    expect(() => parsePublicKeys(jwks([{ ...publicKeyOf(current), alg: 'HS256' }]))).toThrow(/only ES256/);
    expect(() => parsePublicKeys(jwks([{ ...publicKeyOf(current), x: publicKeyOf(previous).x }]))).toThrow(
      /not a valid P-256 point/,
    );
  });

  it('reads the signing key and refuses a public key in its place', () => {
    expect(parseSigningKey(JSON.stringify(current)).kid).toBe(current.kid);
    expect(() => parseSigningKey(JSON.stringify(publicKeyOf(current)))).toThrow(/is not a private key/);
  });

  it('names a new key by its day and thumbprint', () => {
    expect(current.kid).toMatch(/^2026-12-03-[A-Za-z0-9_-]{8}$/);
  });

  it('adds a new key in front for a rotation and refuses a third', () => {
    const set = addPublicKey({ keys: [publicKeyOf(previous)] }, publicKeyOf(current));
    expect(set.keys.map((key) => key.kid)).toEqual([current.kid, previous.kid]);
    expect(() => addPublicKey(set, publicKeyOf(generateSigningKey()))).toThrow(/remove the retired one first/);
    expect(removePublicKey(set, previous.kid).keys.map((key) => key.kid)).toEqual([current.kid]);
    expect(() => removePublicKey({ keys: [publicKeyOf(current)] }, current.kid)).toThrow(/only key/);
    expect(() => removePublicKey(set, 'nope')).toThrow(/holds no kid "nope"/);
  });
});

describe('issuerFromEnv', () => {
  it('needs the signing key and says where to put it', () => {
    expect(() => issuerFromEnv({})).toThrow(/AUTH_SIGNING_KEY_FILE \(or AUTH_SIGNING_KEY\).*sb keys generate/);
    expect(issuerFromEnv({ AUTH_SIGNING_KEY: JSON.stringify(current) }).kid).toBe(current.kid);
    expect(() => issuerFromEnv({ AUTH_SIGNING_KEY_FILE: '/nonexistent/key.json' })).toThrow(/cannot be read/);
  });
});
