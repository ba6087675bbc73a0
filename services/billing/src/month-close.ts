import type { Seller } from './config.js';
import type { DocumentStore } from './documents.js';
import { buildInvoice } from './invoice.js';
import { invoiceNumber, type InvoiceRecord, type InvoiceStore } from './invoices.js';
import { berlinDate, isMonth, monthEnd, monthPeriod, previousMonth } from './months.js';
import type { RatedLegStore } from './rated-legs.js';

/** A close that cannot happen now; the message says why and what to do. */
export class CloseRefusedError extends Error {
  override readonly name = 'CloseRefusedError';
}

export interface MonthCloseDependencies {
  legs: RatedLegStore;
  invoices: InvoiceStore;
  documents: DocumentStore;
  seller: Seller;
  settleMs: number;
  /** Publishes the invoice-issued event; its event id makes a repeat harmless. */
  announce(invoice: InvoiceRecord): Promise<void>;
  clock?: () => Date;
}

/**
 * Closes a tenant's Europe/Berlin month into an invoice, once. A repeated close returns the stored
 * invoice (and makes sure its documents and event exist). Legs of months invoiced before that
 * arrived or were rerated since the previous close become correction lines; issued invoices are
 * never touched.
 */
export async function closeMonth(
  deps: MonthCloseDependencies,
  tenantId: string,
  month: string,
): Promise<{ invoice: InvoiceRecord; created: boolean }> {
  if (!isMonth(month)) throw new CloseRefusedError(`month "${month}" is not YYYY-MM`);
  const existing = await deps.invoices.invoice(tenantId, month);
  if (existing) return finish(deps, existing, false);

  const now = (deps.clock ?? (() => new Date()))();
  if (now < monthEnd(month)) {
    throw new CloseRefusedError(`${month} ends ${monthEnd(month).toISOString()} (Europe/Berlin); close it after that`);
  }
  const profile = await deps.invoices.profile(tenantId);
  if (!profile) throw new CloseRefusedError(`tenant ${tenantId} has no billing profile; set one first`);
  const { before, later } = await deps.invoices.neighbours(tenantId, month);
  if (later) throw new CloseRefusedError(`a month after ${month} is invoiced already; months close in order`);
  if (before && before.month !== previousMonth(month)) {
    throw new CloseRefusedError(`close ${previousMonth(month)} first (the last invoice is for ${before.month})`);
  }

  const cutoff = new Date(now.getTime() - deps.settleMs);
  const usage = await deps.legs.usageAt(tenantId, month, cutoff);
  const corrections = before ? await deps.legs.correctionsBetween(tenantId, before.month, before.cutoff, cutoff) : [];
  const totals = buildInvoice(profile, month, usage.rows, corrections);
  const period = monthPeriod(month);
  const invoice: InvoiceRecord = {
    ...totals,
    tenantId,
    month,
    invoiceNumber: invoiceNumber(tenantId, month),
    issuedAt: now,
    periodStart: period.start,
    periodEnd: period.end,
    dueDate: berlinDate(now, deps.seller.paymentTermsDays),
    legCount: usage.legs,
    cutoff,
    buyer: profile.buyer,
    seller: deps.seller,
  };
  if (!(await deps.invoices.insert(invoice))) {
    const winner = await deps.invoices.invoice(tenantId, month);
    if (!winner) throw new Error(`invoice ${tenantId} ${month} vanished after a concurrent close`);
    return finish(deps, winner, false);
  }
  return finish(deps, invoice, true);
}

async function finish(
  deps: MonthCloseDependencies,
  invoice: InvoiceRecord,
  created: boolean,
): Promise<{ invoice: InvoiceRecord; created: boolean }> {
  await deps.documents.ensure(invoice);
  await deps.announce(invoice);
  return { invoice, created };
}
