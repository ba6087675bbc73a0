import type { Collection, Db } from 'mongodb';
import type { IndexDeclaration } from '@switchboard/service-kit';
import type { PortalRole } from '../roles.js';

/** A local account; usernames are unique per tenant and compared in lower case. */
export interface Account {
  tenantId: string;
  username: string;
  role: PortalRole;
  /** A supervisor's departments. */
  departments: string[];
  /** The token's subject: an agent's staff id, otherwise the username. */
  subject: string;
  passwordHash: string;
  failedAttempts: number;
  lockedUntil: Date | null;
  /** `file`: from PORTAL_ACCOUNTS_FILE, replaced or removed at each start. */
  source: 'file';
}

interface AccountDocument extends Account {
  _id: string;
}

const COLLECTION = 'accounts';

export const ACCOUNT_INDEXES: readonly IndexDeclaration[] = [
  { collection: COLLECTION, key: { tenantId: 1, username: 1 }, options: { name: 'tenant_username', unique: true } },
];

/** Operators belong to no tenant: their accounts have the empty tenant id. */
export const PROVIDER_TENANT = '';

export const normaliseUsername = (username: string) => username.trim().normalize('NFC').toLowerCase();
const accountId = (tenantId: string, username: string) => `${tenantId}/${normaliseUsername(username)}`;

export type LockoutPolicy = { attempts: number; lockMs: number };

export type AttemptResult =
  | { outcome: 'ok'; account: Account }
  | { outcome: 'locked'; lockedUntil: Date }
  | { outcome: 'failed'; lockedUntil: Date | null };

export class AccountStore {
  private readonly accounts: Collection<AccountDocument>;

  constructor(db: Db) {
    this.accounts = db.collection<AccountDocument>(COLLECTION);
  }

  find(tenantId: string, username: string): Promise<Account | null> {
    return this.accounts.findOne({ _id: accountId(tenantId, username) }, { projection: { _id: 0 } });
  }

  /**
   * Makes the file's accounts exactly these: each is created or replaced (its lock-out state
   * kept), file accounts no longer listed are removed. Returns the removed ones' ids.
   */
  async replaceFileAccounts(
    accounts: readonly Omit<Account, 'failedAttempts' | 'lockedUntil' | 'source'>[],
  ): Promise<string[]> {
    const ids = accounts.map((account) => accountId(account.tenantId, account.username));
    for (const [index, account] of accounts.entries()) {
      await this.accounts.updateOne(
        { _id: ids[index]! },
        {
          $set: { ...account, username: normaliseUsername(account.username), source: 'file' },
          $setOnInsert: { failedAttempts: 0, lockedUntil: null },
        },
        { upsert: true },
      );
    }
    const gone = await this.accounts
      .find({ source: 'file', _id: { $nin: ids } }, { projection: { _id: 1 } })
      .map((document) => document._id)
      .toArray();
    if (gone.length) await this.accounts.deleteMany({ _id: { $in: gone } });
    return gone;
  }

  /**
   * Records one sign-in attempt whose password check said `passwordMatches`: success resets the
   * count; the `attempts`-th failure in a row locks the account for `lockMs`. A locked account
   * stays locked whatever the password (and the attempt does not extend the lock).
   */
  async recordAttempt(
    account: Account,
    passwordMatches: boolean,
    now: Date,
    policy: LockoutPolicy,
  ): Promise<AttemptResult> {
    const id = accountId(account.tenantId, account.username);
    if (account.lockedUntil && account.lockedUntil > now)
      return { outcome: 'locked', lockedUntil: account.lockedUntil };
    if (passwordMatches) {
      await this.accounts.updateOne({ _id: id }, { $set: { failedAttempts: 0, lockedUntil: null } });
      return { outcome: 'ok', account: { ...account, failedAttempts: 0, lockedUntil: null } };
    }
    // Counted in the database ($inc), so parallel attempts cannot each see the same count; a lock
    // that ran out starts a new count.
    const counted = await this.accounts.findOneAndUpdate(
      { _id: id },
      account.lockedUntil ? { $set: { failedAttempts: 1, lockedUntil: null } } : { $inc: { failedAttempts: 1 } },
      { returnDocument: 'after' },
    );
    if (!counted || counted.failedAttempts < policy.attempts) return { outcome: 'failed', lockedUntil: null };
    const lockedUntil = new Date(now.getTime() + policy.lockMs);
    await this.accounts.updateOne({ _id: id }, { $set: { failedAttempts: 0, lockedUntil } });
    return { outcome: 'failed', lockedUntil };
  }
}
