import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAccountsFile } from './accounts-file.js';
import { hashPassword, verifyPassword } from './passwords.js';

let dir: string;
let hash: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-portal-accounts-'));
  hash = await hashPassword('geheim');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(text: string): Promise<string> {
  const name = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(name, text);
  return name;
}

describe('passwords', () => {
  it('hash with a salt of their own and verify only the same password', async () => {
    const again = await hashPassword('geheim');
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$/);
    expect(again).not.toBe(hash);
    expect(await verifyPassword('geheim', again)).toBe(true);
    expect(await verifyPassword('Geheim', hash)).toBe(false);
    await expect(verifyPassword('geheim', 'plain')).rejects.toThrow(/not a scrypt/);
  });
});

describe('PORTAL_ACCOUNTS_FILE', () => {
  it('reads tenants, roles, departments and staff ids; usernames in lower case', async () => {
    const accounts = await readAccountsFile(
      await file(`accounts:
  - { tenant: t-kropp, username: Admin, role: admin, passwordHash: "${hash}" }
  - { tenant: t-kropp, username: lead, role: supervisor, departments: [zentrale], passwordHash: "${hash}" }
  - { tenant: t-kropp, username: anna, role: agent, staffId: s-101, passwordHash: "${hash}" }
  - { username: provider, role: operator, passwordHash: "${hash}" }
`),
    );
    expect(accounts.map(({ passwordHash: _hash, ...account }) => account)).toEqual([
      { tenantId: 't-kropp', username: 'admin', role: 'admin', departments: [], subject: 'admin' },
      { tenantId: 't-kropp', username: 'lead', role: 'supervisor', departments: ['zentrale'], subject: 'lead' },
      { tenantId: 't-kropp', username: 'anna', role: 'agent', departments: [], subject: 's-101' },
      { tenantId: '', username: 'provider', role: 'operator', departments: [], subject: 'provider' },
    ]);
  });

  it('names every bad entry at once', async () => {
    const name = await file(`accounts:
  - { tenant: t-kropp, username: lead, role: supervisor, passwordHash: "${hash}" }
  - { tenant: t-kropp, username: x, role: service, passwordHash: "${hash}" }
  - { username: provider, role: admin, passwordHash: "${hash}" }
  - { tenant: t-kropp, username: weak, role: admin, passwordHash: "scrypt$1024$8$1$c2FsdA==$a2V5" }
`);
    const error = await readAccountsFile(name).catch((caught: Error) => caught);
    expect((error as Error).message).toContain('accounts.0: a supervisor needs departments');
    expect((error as Error).message).toMatch(/accounts\.1\.role: /);
    expect((error as Error).message).toContain('accounts.2: the role admin needs its tenant');
    expect((error as Error).message).toContain('accounts.3.passwordHash: has N = 1024');
  });

  it('refuses a username twice in one tenant', async () => {
    const name = await file(`accounts:
  - { tenant: t-kropp, username: admin, role: admin, passwordHash: "${hash}" }
  - { tenant: t-kropp, username: ADMIN, role: finance, passwordHash: "${hash}" }
`);
    await expect(readAccountsFile(name)).rejects.toThrow('username admin appears twice in tenant "t-kropp"');
  });
});
