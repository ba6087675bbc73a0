import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import type { Seller } from './config.js';
import type { InvoiceTotals } from './invoice.js';
import type { BillingProfile } from './profile.js';

/** An issued invoice: written once, never rewritten. Buyer and seller are kept as they were. */
export interface InvoiceRecord extends InvoiceTotals {
  tenantId: string;
  month: string;
  invoiceNumber: string;
  issuedAt: Date;
  periodStart: string;
  periodEnd: string;
  dueDate: string;
  legCount: number;
  /** Legs stored up to this instant are on this invoice; later ones on the next as corrections. */
  cutoff: Date;
  buyer: BillingProfile['buyer'];
  seller: Seller;
}

export const INVOICES = 'invoices';
export const PROFILES = 'billing_profiles';

export const invoiceIndexes: readonly IndexDeclaration[] = [
  { collection: INVOICES, key: { tenantId: 1, month: 1 }, options: { name: 'tenant_month_unique', unique: true } },
  { collection: INVOICES, key: { invoiceNumber: 1 }, options: { name: 'number_unique', unique: true } },
  { collection: PROFILES, key: { tenantId: 1 }, options: { name: 'tenant_unique', unique: true } },
];

/** Deterministic, so a repeated close can never take a second number. */
export function invoiceNumber(tenantId: string, month: string): string {
  return `SB-${month.replace('-', '')}-${tenantId.toUpperCase()}`;
}

export class InvoiceStore {
  private readonly invoices: Collection<InvoiceRecord>;
  private readonly profiles: Collection<BillingProfile>;

  constructor(db: Db) {
    this.invoices = db.collection<InvoiceRecord>(INVOICES);
    this.profiles = db.collection<BillingProfile>(PROFILES);
  }

  async saveProfile(profile: BillingProfile): Promise<void> {
    await this.profiles.replaceOne({ tenantId: profile.tenantId }, profile, { upsert: true });
  }

  async profile(tenantId: string): Promise<BillingProfile | undefined> {
    return (await this.profiles.findOne({ tenantId }, { projection: { _id: 0 } })) ?? undefined;
  }

  async invoice(tenantId: string, month: string): Promise<InvoiceRecord | undefined> {
    return (await this.invoices.findOne({ tenantId, month }, { projection: { _id: 0 } })) ?? undefined;
  }

  /** The newest invoice before `month`, and whether one exists after it. */
  async neighbours(tenantId: string, month: string): Promise<{ before?: InvoiceRecord; later: boolean }> {
    const before = await this.invoices.findOne(
      { tenantId, month: { $lt: month } },
      { sort: { month: -1 }, projection: { _id: 0 } },
    );
    const later = await this.invoices.findOne({ tenantId, month: { $gt: month } }, { projection: { month: 1 } });
    return { ...(before ? { before } : {}), later: later !== null };
  }

  /** Inserts an invoice; false when one for the month exists already (a concurrent close won). */
  async insert(invoice: InvoiceRecord): Promise<boolean> {
    try {
      await withTypedErrors(this.invoices, (c) => c.insertOne({ ...invoice }));
      return true;
    } catch (error) {
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }
}
