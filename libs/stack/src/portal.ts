import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SigningKey } from '@switchboard/tokens';
import { stringify } from 'yaml';
import { REPO_ROOT } from './child.js';

/** A portal sign-in the stack made for its tenant (`stack.portal.accounts`). */
export interface PortalAccount {
  tenantId: string;
  username: string;
  password: string;
  role: 'admin' | 'supervisor';
  departments: string[];
}

export interface StackPortal {
  /** `http://127.0.0.1:<port>` (Chromium takes the portal's Secure cookies on loopback). */
  readonly url: string;
  readonly accounts: readonly PortalAccount[];
}

/** The scrypt hash of a password, made by the portal's own tool (so the format stays the portal's). */
function hashPassword(password: string): Promise<string> {
  const tool = path.join(REPO_ROOT, 'services/portal/dist/hash-password.js');
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [tool], (error, stdout, stderr) =>
      error ? reject(new Error(`${tool}: ${stderr || error.message}`)) : resolve(stdout.trim()),
    );
    child.stdin!.end(password);
  });
}

/**
 * The portal's files in `dir` (a private directory of the stack's): the stack's signing key (the
 * portal mints its users' tokens with it) and an accounts file with the tenant's administrator
 * `admin` and the lead of its first department, each with a new random password.
 */
export async function portalFiles(
  dir: string,
  signingKey: SigningKey,
  tenantId: string,
  leadDepartment: string | undefined,
): Promise<{ env: Record<string, string>; accounts: PortalAccount[] }> {
  const password = () => randomBytes(9).toString('base64url');
  const accounts: PortalAccount[] = [
    { tenantId, username: 'admin', password: password(), role: 'admin', departments: [] },
    ...(leadDepartment
      ? [
          {
            tenantId,
            username: `leitung-${leadDepartment}`,
            password: password(),
            role: 'supervisor' as const,
            departments: [leadDepartment],
          },
        ]
      : []),
  ];
  const entries = await Promise.all(
    accounts.map(async (account) => ({
      tenant: account.tenantId,
      username: account.username,
      role: account.role,
      ...(account.departments.length ? { departments: account.departments } : {}),
      passwordHash: await hashPassword(account.password),
    })),
  );
  const keyFile = path.join(dir, 'portal-signing-key.json');
  const accountsFile = path.join(dir, 'portal-accounts.yaml');
  await writeFile(keyFile, JSON.stringify(signingKey), { mode: 0o600 });
  await writeFile(accountsFile, stringify({ accounts: entries }), { mode: 0o600 });
  return {
    env: { PORTAL_SIGNING_KEY_FILE: keyFile, PORTAL_ACCOUNTS_FILE: accountsFile, PORTAL_PORT: '0' },
    accounts,
  };
}

/**
 * The web port the portal logged (`portal listening`, before its ready line). The log file is
 * written from the child's output asynchronously, so on a loaded machine it may lag behind the
 * ready line the stack already saw: it is read again for a few seconds.
 */
export async function portalPort(logFile: string, waitMs = 10_000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
      if (!line.includes('portal listening')) continue;
      const entry = JSON.parse(line) as { msg?: string; portalPort?: number };
      if (entry.msg === 'portal listening' && typeof entry.portalPort === 'number') return entry.portalPort;
    }
    if (Date.now() > deadline) throw new Error(`${logFile} has no "portal listening" line`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
