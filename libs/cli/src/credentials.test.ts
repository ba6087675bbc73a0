import { createAuthenticator } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { bearerToken } from './credentials.js';

const secret = 'cli-test-secret-cli-test-secret-xx';

describe('bearerToken', () => {
  it('prefers SB_TOKEN', async () => {
    expect(await bearerToken({ tenant: 't-a' }, { SB_TOKEN: 'given', AUTH_JWT_SECRET: secret })).toBe('given');
  });

  it('mints a verifiable token for the tenant and role from AUTH_JWT_SECRET', async () => {
    const token = await bearerToken({ tenant: 't-kropp', role: 'admin' }, { AUTH_JWT_SECRET: secret, USER: 'ops' });
    const principal = await createAuthenticator({ secret, issuer: 'switchboard', audience: 'switchboard' }).verify(
      token,
    );
    expect(principal).toEqual({ subject: 'ops', tenantId: 't-kropp', role: 'admin' });
  });

  it('says what to set when it has neither', async () => {
    await expect(bearerToken({ tenant: 't-a' }, {})).rejects.toThrow(/SB_TOKEN, or AUTH_JWT_SECRET/);
    await expect(bearerToken({ tenant: 't-a', role: 'root' }, { AUTH_JWT_SECRET: secret })).rejects.toThrow(/--role/);
  });
});
