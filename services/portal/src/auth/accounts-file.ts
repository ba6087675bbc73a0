import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { PORTAL_ROLES } from '../roles.js';
import { PROVIDER_TENANT, normaliseUsername, type Account } from './accounts.js';
import { passwordHashProblem } from './passwords.js';

const accountSchema = z
  .object({
    /** The tenant id; omitted for the provider's operators. */
    tenant: z.string().min(1).optional(),
    username: z.string().regex(/^[\p{L}\p{N}._@-]{1,64}$/u, 'letters, digits, . _ @ - (at most 64)'),
    role: z.enum(PORTAL_ROLES),
    departments: z.array(z.string().min(1)).default([]),
    /** An agent's staff id in the directory (their token's subject). */
    staffId: z.string().min(1).optional(),
    passwordHash: z.string().superRefine((hash, context) => {
      const problem = passwordHashProblem(hash);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  })
  .strict()
  .superRefine((account, context) => {
    const problem = (message: string) => context.addIssue({ code: 'custom', message });
    if (account.role === 'operator' && account.tenant) problem('an operator belongs to no tenant: leave out tenant');
    if (account.role !== 'operator' && !account.tenant) problem(`the role ${account.role} needs its tenant`);
    if (account.role === 'supervisor' && account.departments.length === 0) problem('a supervisor needs departments');
    if (account.role !== 'supervisor' && account.departments.length > 0) problem('only a supervisor has departments');
    if (account.role === 'agent' && !account.staffId) problem('an agent needs staffId (their id in the directory)');
    if (account.role !== 'agent' && account.staffId) problem('only an agent has a staffId');
  });

const fileSchema = z.object({ accounts: z.array(accountSchema) }).strict();

export type FileAccount = Omit<Account, 'failedAttempts' | 'lockedUntil' | 'source'>;

/**
 * The accounts of PORTAL_ACCOUNTS_FILE (YAML), checked as a whole: a bad entry stops the start
 * with every problem named (entry index and field), a username twice in one tenant too.
 */
export async function readAccountsFile(file: string): Promise<FileAccount[]> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`PORTAL_ACCOUNTS_FILE ${file} cannot be read: ${(error as Error).message}`);
  }
  const result = fileSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new Error(`PORTAL_ACCOUNTS_FILE ${file} is not valid:\n  - ${problems.join('\n  - ')}`);
  }
  const accounts = result.data.accounts.map((entry): FileAccount => ({
    tenantId: entry.tenant ?? PROVIDER_TENANT,
    username: normaliseUsername(entry.username),
    role: entry.role,
    departments: entry.departments,
    subject: entry.staffId ?? normaliseUsername(entry.username),
    passwordHash: entry.passwordHash,
  }));
  const seen = new Set<string>();
  for (const account of accounts) {
    const key = `${account.tenantId}/${account.username}`;
    if (seen.has(key)) {
      throw new Error(
        `PORTAL_ACCOUNTS_FILE ${file}: username ${account.username} appears twice in tenant "${account.tenantId}"`,
      );
    }
    seen.add(key);
  }
  return accounts;
}
