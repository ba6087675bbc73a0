import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testTokens } from '@switchboard/testkit';
import { addPublicKey, publicKeyOf, type PublicKeySet } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from './auth.js';
import * as kit from './index.js';
import { serviceTokenSource } from './service-token.js';

const settings = { issuer: 'switchboard', audience: 'switchboard' };
const anna = { subject: 'anna', tenantId: 't-kropp', role: 'admin' } as const;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Replaces a file the way a Kubernetes Secret volume does: a new file renamed over the old. */
async function replace(file: string, text: string) {
  await writeFile(`${file}.new`, text);
  await rename(`${file}.new`, file);
}

describe('createAuthenticator', () => {
  const current = testTokens();
  const previous = testTokens();
  const both: PublicKeySet = addPublicKey(previous.publicKeys, publicKeyOf(current.signingKey));

  it('verifies the tokens of both keys of a rotation', async () => {
    const auth = createAuthenticator({ publicKeys: both, ...settings });
    expect(await auth.verify(await current.token(anna))).toEqual(anna);
    expect(await auth.verify(await previous.token(anna))).toEqual(anna);
  });

  it('refuses a role it does not know', async () => {
    const auth = createAuthenticator({ publicKeys: current.publicKeys, ...settings });
    await expect(auth.verify(await current.token({ ...anna, role: 'root' }))).rejects.toThrow(
      'token role "root" is not one of admin, supervisor, finance, agent, operator, service',
    );
  });

  it('takes up a key added to the key file without a restart, and keeps the old keys if the file turns bad', async () => {
    const file = path.join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify(previous.publicKeys));
    const rejected: Error[] = [];
    const auth = createAuthenticator({ publicKeys: { file }, ...settings, onKeyFileRejected: (e) => rejected.push(e) });
    expect(await auth.verify(await previous.token(anna))).toEqual(anna);
    await expect(auth.verify(await current.token(anna))).rejects.toThrow(/unknown key/);

    // The new key's kid is unknown to the service: that alone makes it look at the file again.
    await replace(file, JSON.stringify(both));
    expect(await auth.verify(await current.token(anna))).toEqual(anna);
    expect(await auth.verify(await previous.token(anna))).toEqual(anna);

    await replace(file, '{"keys": [');
    const stranger = testTokens();
    await expect(auth.verify(await stranger.token(anna))).rejects.toThrow(/unknown key/);
    expect(rejected.map((error) => error.message)).toEqual([expect.stringMatching(/is not JSON/)]);
    expect(await auth.verify(await current.token(anna))).toEqual(anna);
  });

  it('will not start on a key file it cannot use', async () => {
    const file = path.join(dir, 'private.json');
    await writeFile(file, JSON.stringify({ keys: [current.signingKey] }));
    expect(() => createAuthenticator({ publicKeys: { file }, ...settings })).toThrow(/is a private key/);
  });
});

describe('a service cannot mint', () => {
  it('has an authenticator that only verifies, and the kit exports nothing that signs', () => {
    const auth = createAuthenticator({ publicKeys: testTokens().publicKeys, ...settings });
    expect(Object.keys(auth)).toEqual(['verify']);
    const signing = Object.keys(kit).filter((name) => /issue|sign|mint|generate/i.test(name));
    expect(signing).toEqual([]);
  });

  it('has no service but the portal depending on the package that signs (otherwise only tests and tools do)', () => {
    const services = new URL('../../../services/', import.meta.url);
    const names = readdirSync(services, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    const signers = names
      .map((entry) => entry.name)
      .filter((service) => {
        const manifest = JSON.parse(readFileSync(new URL(`${service}/package.json`, services), 'utf8')) as {
          dependencies?: Record<string, string>;
        };
        return '@switchboard/tokens' in (manifest.dependencies ?? {});
      });
    // The portal mints its signed-in users' short-lived tokens (libs/tokens README: the issuers).
    expect(signers).toEqual(['portal']);
  });
});

describe('serviceTokenSource', () => {
  const tokens = testTokens();

  it('gives the inline token, checked to be a service token', async () => {
    const token = await tokens.serviceToken('ari-adapter');
    expect(await serviceTokenSource({ service: 'ari-adapter', inline: token })()).toBe(token);
    const admin = await tokens.token(anna);
    await expect(serviceTokenSource({ service: 'ari-adapter', inline: admin })()).rejects.toThrow(
      'AUTH_SERVICE_TOKEN has role "admin", not "service"',
    );
  });

  it('re-reads the token file when the Secret behind it is renewed', async () => {
    const file = path.join(dir, 'service-token');
    const first = await tokens.serviceToken('ari-adapter');
    await writeFile(file, `${first}\n`);
    const serviceToken = serviceTokenSource({ service: 'ari-adapter', file });
    expect(await serviceToken()).toBe(first);
    const renewed = await testTokens().serviceToken('ari-adapter');
    await replace(file, renewed);
    expect(await serviceToken()).toBe(renewed);
  });

  it('says what to do when there is none or it expired', async () => {
    await expect(serviceTokenSource({ service: 'ari-adapter' })()).rejects.toThrow(
      'ari-adapter has no token of its own to call other services: set AUTH_SERVICE_TOKEN_FILE (or AUTH_SERVICE_TOKEN) to one from `sb token --role service --subject ari-adapter`',
    );
    const payload = Buffer.from(JSON.stringify({ role: 'service', exp: 1_700_000_000 })).toString('base64url');
    await expect(serviceTokenSource({ service: 'ari-adapter', inline: `e30.${payload}.c2ln` })()).rejects.toThrow(
      'AUTH_SERVICE_TOKEN expired at 2023-11-14T22:13:20.000Z; renew it with `sb token --role service --subject ari-adapter`',
    );
  });
});
