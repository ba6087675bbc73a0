import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import type { Seller } from './config.js';
import type { InvoiceLine, InvoiceTotals } from './invoice.js';
import type { BillingProfile } from './profile.js';

/**
 * `issuing` from the moment the invoice is stored until both documents are stored and the
 * invoice-issued event is published; then `issued`. Whoever meets an `issuing` invoice (a repeated
 * close, a read, the sweep) finishes those steps; nothing else about it ever changes.
 */
export type InvoiceStatus = 'issuing' | 'issued';

/** An issued invoice: written once, never rewritten. Buyer and seller are kept as they were. */
export interface InvoiceRecord extends InvoiceTotals {
  tenantId: string;
  month: string;
  status: InvoiceStatus;
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
  { collection: INVOICES, key: { status: 1 }, options: { name: 'status' } },
  { collection: PROFILES, key: { tenantId: 1 }, options: { name: 'tenant_unique', unique: true } },
];

/**
 * An invoice as stored; those issued before unit prices, languages and credit notes lack them,
 * and those issued before the status were issued whole.
 */
type StoredInvoice = Omit<InvoiceRecord, 'language' | 'documentType' | 'lines' | 'status'> &
  Partial<Pick<InvoiceRecord, 'language' | 'documentType' | 'status'>> & {
    lines: Array<Omit<InvoiceLine, 'unitPrice'> & { unitPrice?: number }>;
  };

/**
 * Invoices issued before lines carried unit prices and invoices a language and document type
 * were English invoices (380) whose lines were priced as a whole; read that way, so their
 * documents can still be rendered.
 */
function issuedBefore(stored: StoredInvoice): InvoiceRecord {
  return {
    ...stored,
    status: stored.status ?? 'issued',
    language: stored.language ?? 'en',
    documentType: stored.documentType ?? 'invoice',
    lines: stored.lines.map((line) => ({
      ...line,
      unitPrice:
        line.unitPrice ??
        (line.quantityMilli === 0 ? 0 : Math.round(Math.abs((line.amount * 1000) / line.quantityMilli))),
    })),
  };
}

/** Deterministic, so a repeated close can never take a second number. */
export function invoiceNumber(tenantId: string, month: string): string {
  return `SB-${month.replace('-', '')}-${tenantId.toUpperCase()}`;
}

export class InvoiceStore {
  private readonly invoices: Collection<StoredInvoice>;
  private readonly profiles: Collection<BillingProfile>;

  constructor(db: Db) {
    this.invoices = db.collection<StoredInvoice>(INVOICES);
    this.profiles = db.collection<BillingProfile>(PROFILES);
  }

  async saveProfile(profile: BillingProfile): Promise<void> {
    await this.profiles.replaceOne({ tenantId: profile.tenantId }, profile, { upsert: true });
  }

  async profile(tenantId: string): Promise<BillingProfile | undefined> {
    return (await this.profiles.findOne({ tenantId }, { projection: { _id: 0 } })) ?? undefined;
  }

  async invoice(tenantId: string, month: string): Promise<InvoiceRecord | undefined> {
    const stored = await this.invoices.findOne({ tenantId, month }, { projection: { _id: 0 } });
    return stored ? issuedBefore(stored) : undefined;
  }

  /** The newest invoice before `month`, and whether one exists after it. */
  async neighbours(tenantId: string, month: string): Promise<{ before?: InvoiceRecord; later: boolean }> {
    const found = await this.invoices.findOne(
      { tenantId, month: { $lt: month } },
      { sort: { month: -1 }, projection: { _id: 0 } },
    );
    const later = await this.invoices.findOne({ tenantId, month: { $gt: month } }, { projection: { month: 1 } });
    return { ...(found ? { before: issuedBefore(found) } : {}), later: later !== null };
  }

  /** Invoices stored but not yet issued: their documents or event may be missing. */
  async issuing(): Promise<Array<Pick<InvoiceRecord, 'tenantId' | 'month'>>> {
    return this.invoices
      .find({ status: 'issuing' }, { projection: { _id: 0, tenantId: 1, month: 1 } })
      .toArray() as Promise<Array<Pick<InvoiceRecord, 'tenantId' | 'month'>>>;
  }

  /** Records that the invoice's documents are stored and its event published. */
  async markIssued(tenantId: string, month: string): Promise<void> {
    await this.invoices.updateOne({ tenantId, month, status: 'issuing' }, { $set: { status: 'issued' } });
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
