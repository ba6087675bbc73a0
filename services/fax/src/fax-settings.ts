import type { Collection, Db } from 'mongodb';
import { z } from 'zod';

/**
 * Each tenant's fax settings: the fallback mailbox for faxes the directory routes nowhere, and how
 * long faxes are kept. Routes themselves are the directory's (see mailbox-resolver.ts).
 */

export interface FaxSettings {
  fallbackMailbox: string;
  retentionDays: number;
}

/** Bad input from an administrator; the API answers INVALID_ARGUMENT with the message. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}

interface SettingsDocument {
  _id: string;
  fallbackMailbox: string;
  retentionDays: number;
}

const SETTINGS = 'fax_settings';
const MAX_RETENTION_DAYS = 3_650;
const mailbox = z.email('must be an e-mail address');

export class FaxSettingsStore {
  private readonly settings: Collection<SettingsDocument>;

  constructor(
    db: Db,
    private readonly defaultRetentionDays: number,
  ) {
    this.settings = db.collection<SettingsDocument>(SETTINGS);
  }

  async get(tenantId: string): Promise<FaxSettings> {
    const stored = await this.settings.findOne({ _id: tenantId });
    return {
      fallbackMailbox: stored?.fallbackMailbox ?? '',
      retentionDays: stored?.retentionDays || this.defaultRetentionDays,
    };
  }

  async update(tenantId: string, settings: FaxSettings): Promise<FaxSettings> {
    const fallbackMailbox = settings.fallbackMailbox.trim();
    if (fallbackMailbox && !mailbox.safeParse(fallbackMailbox).success) {
      throw new InvalidInputError(`fallback mailbox "${settings.fallbackMailbox}" is not an e-mail address`);
    }
    if (!Number.isInteger(settings.retentionDays) || settings.retentionDays < 0) {
      throw new InvalidInputError('retention days must be 0 (the default) or a positive whole number');
    }
    if (settings.retentionDays > MAX_RETENTION_DAYS) {
      throw new InvalidInputError(`retention days must be at most ${MAX_RETENTION_DAYS}`);
    }
    await this.settings.replaceOne(
      { _id: tenantId },
      { fallbackMailbox, retentionDays: settings.retentionDays },
      { upsert: true },
    );
    return this.get(tenantId);
  }
}
