import { createAuthenticator } from '@switchboard/service-kit';
import { testTokens } from '@switchboard/testkit';
import { describe, expect, it } from 'vitest';
import { bearerToken, mintToken, parseTtl } from './credentials.js';

const tokens = testTokens();
const verify = (token: string) =>
  createAuthenticator({ publicKeys: tokens.publicKeys, issuer: 'switchboard', audience: 'switchboard' }).verify(token);

describe('bearerToken', () => {
  it('prefers SB_TOKEN', async () => {
    expect(await bearerToken({ tenant: 't-a' }, { SB_TOKEN: 'given', ...tokens.issuerEnv })).toBe('given');
  });

  it('mints an operator token with the signing key', async () => {
    const token = await bearerToken({ tenant: 't-kropp' }, { ...tokens.issuerEnv, USER: 'ops' });
    expect(await verify(token)).toEqual({ subject: 'ops', tenantId: 't-kropp', role: 'operator' });
  });

  it('says what to set when it has neither a token nor the signing key', async () => {
    await expect(bearerToken({ tenant: 't-a' }, {})).rejects.toThrow(
      'set SB_TOKEN to a token issued to you, or AUTH_SIGNING_KEY_FILE (or AUTH_SIGNING_KEY) to the private key from `sb keys generate` to mint one',
    );
  });
});

describe('mintToken', () => {
  it('makes the claims of each kind of token', async () => {
    const env = { ...tokens.issuerEnv, USER: 'ops' };
    expect(await verify(await mintToken({ role: 'admin', tenant: 't-kropp' }, env))).toEqual({
      subject: 'ops',
      tenantId: 't-kropp',
      role: 'admin',
    });
    expect(
      await verify(await mintToken({ role: 'supervisor', tenant: 't-kropp', departments: ['d-1', 'd-2'] }, env)),
    ).toEqual({ subject: 'ops', tenantId: 't-kropp', role: 'supervisor', departments: ['d-1', 'd-2'] });
    expect(await verify(await mintToken({ role: 'service', subject: 'ari-adapter' }, env))).toEqual({
      subject: 'ari-adapter',
      tenantId: '*',
      role: 'service',
    });
  });

  it('refuses claims that make no sense', async () => {
    const env = tokens.issuerEnv;
    await expect(mintToken({ role: 'root', tenant: 't-a' }, env)).rejects.toThrow(/--role must be one of admin/);
    await expect(mintToken({ role: 'admin' }, env)).rejects.toThrow(
      'a token of role admin is for one tenant: give --tenant',
    );
    await expect(mintToken({ role: 'supervisor', tenant: 't-a' }, env)).rejects.toThrow(/give --departments/);
    await expect(mintToken({ role: 'agent', tenant: 't-a', departments: ['d-1'] }, env)).rejects.toThrow(
      'only a supervisor token carries --departments',
    );
    await expect(mintToken({ role: 'service' }, env)).rejects.toThrow(/give --subject/);
    await expect(mintToken({ role: 'agent', tenant: 't-a', ttlSeconds: 13 * 3_600 }, env)).rejects.toThrow(
      /at most|between 1 s and 43200 s/,
    );
  });
});

describe('parseTtl', () => {
  it('reads seconds and the units s, m, h, d', () => {
    expect([parseTtl('900'), parseTtl('90s'), parseTtl('15m'), parseTtl('12h'), parseTtl('90d')]).toEqual([
      900, 90, 900, 43_200, 7_776_000,
    ]);
    expect(() => parseTtl('1w')).toThrow('--ttl "1w" is not a duration like 900, 15m, 12h or 90d');
    expect(() => parseTtl('0m')).toThrow(/not a duration/);
  });
});
