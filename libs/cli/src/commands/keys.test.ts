import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAuthenticator } from '@switchboard/service-kit';
import { parsePublicKeys, parseSigningKey } from '@switchboard/tokens';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKeysCommands } from './keys.js';
import { registerTokenCommand } from './token.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const days = [new Date('2026-06-01T08:00:00Z'), new Date('2026-12-03T08:00:00Z')];

async function sb(env: Record<string, string>, ...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  const write = (text: string) => (output += text);
  registerKeysCommands(program, { write, now: () => days.shift() ?? new Date() });
  registerTokenCommand(program, { env, write });
  await program.parseAsync(args, { from: 'user' });
  return output;
}

const read = async (file: string) => readFile(file, 'utf8');

describe('sb keys and sb token', () => {
  const first = () => path.join(dir, 'first');
  const second = () => path.join(dir, 'second');

  it('generates a key pair whose tokens the services accept, and the signing key stays private', async () => {
    await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(first()), fs.mkdir(second())]));
    const output = await sb({}, 'keys', 'generate', '--out', first());
    const signingKey = parseSigningKey(await read(path.join(first(), 'signing-key.json')));
    expect(signingKey.kid).toMatch(/^2026-06-01-/);
    expect(output).toContain(`new key ${signingKey.kid}`);
    expect((await stat(path.join(first(), 'signing-key.json'))).mode & 0o777).toBe(0o600);
    const publicKeys = parsePublicKeys(await read(path.join(first(), 'public-keys.json')));
    expect(publicKeys.keys.map((key) => key.kid)).toEqual([signingKey.kid]);

    const env = { AUTH_SIGNING_KEY_FILE: path.join(first(), 'signing-key.json'), USER: 'ops' };
    const token = (
      await sb(env, 'token', '--role', 'supervisor', '--tenant', 't-kropp', '--departments', 'd-1,d-2')
    ).trim();
    const auth = createAuthenticator({ publicKeys, issuer: 'switchboard', audience: 'switchboard' });
    expect(await auth.verify(token)).toEqual({
      subject: 'ops',
      tenantId: 't-kropp',
      role: 'supervisor',
      departments: ['d-1', 'd-2'],
    });
    const [, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { exp: number; iat: number };
    expect(claims.exp - claims.iat).toBe(15 * 60);
  });

  it('refuses to overwrite a signing key', async () => {
    await expect(sb({}, 'keys', 'generate', '--out', first())).rejects.toThrow(/signing-key.json exists/);
  });

  it('rotates: the new key joins the old one, both verify, then the old one is retired', async () => {
    const oldSet = path.join(first(), 'public-keys.json');
    await sb({}, 'keys', 'generate', '--out', second(), '--merge', oldSet);
    const rotated = parsePublicKeys(await read(path.join(second(), 'public-keys.json')));
    const oldKid = parseSigningKey(await read(path.join(first(), 'signing-key.json'))).kid;
    const newKid = parseSigningKey(await read(path.join(second(), 'signing-key.json'))).kid;
    expect(rotated.keys.map((key) => key.kid)).toEqual([newKid, oldKid]);

    const auth = createAuthenticator({ publicKeys: rotated, issuer: 'switchboard', audience: 'switchboard' });
    for (const keyDir of [first(), second()]) {
      const env = { AUTH_SIGNING_KEY_FILE: path.join(keyDir, 'signing-key.json') };
      const token = (await sb(env, 'token', '--role', 'service', '--subject', 'ari-adapter', '--ttl', '30d')).trim();
      expect(await auth.verify(token)).toEqual({ subject: 'ari-adapter', tenantId: '*', role: 'service' });
    }

    // A third key needs the retired one gone first.
    const third = path.join(dir, 'third');
    await import('node:fs/promises').then((fs) => fs.mkdir(third));
    const rotatedFile = path.join(second(), 'public-keys.json');
    await expect(sb({}, 'keys', 'generate', '--out', third, '--merge', rotatedFile)).rejects.toThrow(
      /already holds 2 keys .*remove the retired one first/,
    );
    expect(await sb({}, 'keys', 'retire', '--jwks', rotatedFile, '--kid', oldKid)).toBe(`${rotatedFile}: ${newKid}\n`);
    expect(parsePublicKeys(await read(rotatedFile)).keys.map((key) => key.kid)).toEqual([newKid]);
  });

  it('says what sb token needs when the signing key is missing, and bounds the lifetime', async () => {
    await expect(sb({}, 'token', '--role', 'admin', '--tenant', 't-kropp')).rejects.toThrow(
      /minting a token needs the signing key: set AUTH_SIGNING_KEY_FILE/,
    );
    const env = { AUTH_SIGNING_KEY_FILE: path.join(second(), 'signing-key.json') };
    await expect(sb(env, 'token', '--role', 'admin', '--tenant', 't-kropp', '--ttl', '13h')).rejects.toThrow(
      'a token of role admin lives between 1 s and 43200 s (12 h); got 46800',
    );
  });
});
