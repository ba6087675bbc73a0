import type { IndexDeclaration } from '@switchboard/service-kit';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';

/**
 * Fax number → department → mailbox, and each tenant's fallback mailbox and retention. The
 * directory service will own the routes; until it exists they are kept here and managed through
 * the Fax API, and its change events will later feed this collection instead.
 */

export interface FaxRoute {
  tenantId: string;
  faxNumber: string;
  departmentId: string;
  mailbox: string;
}

export interface FaxSettings {
  fallbackMailbox: string;
  retentionDays: number;
}

export interface MailTarget {
  mailbox: string;
  departmentId: string;
  /** The number has no route: the tenant's fallback mailbox gets it. */
  viaFallback: boolean;
}

/** Bad input from an administrator; the API answers INVALID_ARGUMENT with the message. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}

interface RouteDocument extends FaxRoute {
  _id: string;
}

interface SettingsDocument {
  _id: string;
  fallbackMailbox: string;
  retentionDays: number;
}

const ROUTES = 'fax_routes';
const SETTINGS = 'fax_settings';
export const FAX_DIRECTORY_INDEXES: readonly IndexDeclaration[] = [
  { collection: ROUTES, key: { tenantId: 1, faxNumber: 1 }, options: { name: 'tenant_number', unique: true } },
];

const MAX_RETENTION_DAYS = 3_650;
const mailbox = z.email('must be an e-mail address');

/** E.164 form of a number, or undefined when it is not a valid phone number. */
export function toE164(number: string): string | undefined {
  try {
    const parsed = parsePhoneNumberWithError(number.trim());
    return parsed.isValid() ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}

function checkMailbox(value: string, what: string): string {
  const result = mailbox.safeParse(value.trim());
  if (!result.success) throw new InvalidInputError(`${what} "${value}" is not an e-mail address`);
  return result.data;
}

export class FaxDirectory {
  private readonly routes: Collection<RouteDocument>;
  private readonly settings: Collection<SettingsDocument>;

  constructor(
    db: Db,
    private readonly defaultRetentionDays: number,
  ) {
    this.routes = db.collection<RouteDocument>(ROUTES);
    this.settings = db.collection<SettingsDocument>(SETTINGS);
  }

  async putRoute(route: FaxRoute): Promise<FaxRoute> {
    const faxNumber = toE164(route.faxNumber);
    if (!faxNumber) throw new InvalidInputError(`fax number "${route.faxNumber}" is not a valid E.164 number`);
    if (!route.departmentId.trim()) throw new InvalidInputError('a fax route needs a department id');
    const stored: FaxRoute = {
      tenantId: route.tenantId,
      faxNumber,
      departmentId: route.departmentId.trim(),
      mailbox: checkMailbox(route.mailbox, 'mailbox'),
    };
    await this.routes.replaceOne({ _id: `${route.tenantId}:${faxNumber}` }, stored, { upsert: true });
    return stored;
  }

  async deleteRoute(tenantId: string, faxNumber: string): Promise<boolean> {
    const number = toE164(faxNumber) ?? faxNumber;
    const result = await this.routes.deleteOne({ _id: `${tenantId}:${number}` });
    return result.deletedCount === 1;
  }

  async listRoutes(tenantId: string): Promise<FaxRoute[]> {
    const routes = await this.routes.find({ tenantId }).sort({ faxNumber: 1 }).toArray();
    return routes.map(({ tenantId: tenant, faxNumber, departmentId, mailbox: address }) => ({
      tenantId: tenant,
      faxNumber,
      departmentId,
      mailbox: address,
    }));
  }

  async getSettings(tenantId: string): Promise<FaxSettings> {
    const stored = await this.settings.findOne({ _id: tenantId });
    return {
      fallbackMailbox: stored?.fallbackMailbox ?? '',
      retentionDays: stored?.retentionDays || this.defaultRetentionDays,
    };
  }

  async updateSettings(tenantId: string, settings: FaxSettings): Promise<FaxSettings> {
    const fallbackMailbox = settings.fallbackMailbox.trim()
      ? checkMailbox(settings.fallbackMailbox, 'fallback mailbox')
      : '';
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
    return this.getSettings(tenantId);
  }

  /** Where a fax to `dialedNumber` goes: its route, else the fallback mailbox, else nowhere. */
  async resolve(tenantId: string, dialedNumber: string): Promise<MailTarget | undefined> {
    const number = toE164(dialedNumber) ?? dialedNumber;
    const route = await this.routes.findOne({ _id: `${tenantId}:${number}` });
    if (route) return { mailbox: route.mailbox, departmentId: route.departmentId, viaFallback: false };
    const { fallbackMailbox } = await this.getSettings(tenantId);
    return fallbackMailbox ? { mailbox: fallbackMailbox, departmentId: '', viaFallback: true } : undefined;
  }
}
