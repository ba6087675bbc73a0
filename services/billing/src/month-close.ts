import type { KeyedCoalescer } from '@switchboard/service-kit';
import type { Seller } from './config.js';
import type { DocumentStore } from './documents.js';
import { unassignedSites } from './allocation.js';
import { buildInvoice, type CorrectionRow } from './invoice.js';
import { invoiceNumber, type InvoiceRecord, type InvoiceStore } from './invoices.js';
import { berlinDate, isMonth, monthEnd, monthPeriod, previousMonth } from './months.js';
import type { RatedLegStore } from './rated-legs.js';
import { correctionRows, usageRowsFrom, type BilledMonth } from './rollups.js';

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
  /**
   * The month's voice packages: rating's tariff owns the number (packages of the tariff in force
   * on the month's first day, the bundle capacity it rated against); billing only prices them.
   */
  voicePackages(tenantId: string, month: string): Promise<number>;
  /** Publishes the invoice-issued event; its event id makes a repeat harmless. */
  announce(invoice: InvoiceRecord): Promise<void>;
  clock?: () => Date;
  /** Usage on sites missing from the billing profile was billed to the catch-all share (alert). */
  onUnassignedSites?(event: { tenantId: string; month: string; siteIds: string[] }): void;
  /**
   * Issues of one invoice in this process run one after another (the close, a read and the sweep
   * may meet the same `issuing` invoice), so the later finds the documents stored, not rendering.
   */
  issues: KeyedCoalescer<InvoiceRecord>;
  /** Called after each durable step of issuing an invoice; fault injection for the crash tests. */
  reached?(point: IssuePoint): void;
}

/** The steps of issuing an invoice after which a crash leaves a state of its own. */
export const ISSUE_POINTS = ['invoice-stored', 'pdf-stored', 'documents-stored', 'announced'] as const;
export type IssuePoint = (typeof ISSUE_POINTS)[number];

/**
 * Closes a tenant's Europe/Berlin month into an invoice, once, from the month's roll-up as it
 * stood at the cutoff. A repeated close returns the stored invoice (and finishes issuing it if a
 * crash interrupted that). What the roll-ups of months invoiced before hold beyond what their invoices
 * billed (legs that arrived late, reratings) becomes correction lines; the invoice keeps the rows
 * it billed of each month, so the next close corrects only what changed since. Issued invoices
 * are never touched.
 */
export async function closeMonth(
  deps: MonthCloseDependencies,
  tenantId: string,
  month: string,
): Promise<{ invoice: InvoiceRecord; created: boolean }> {
  if (!isMonth(month)) throw new CloseRefusedError(`month "${month}" is not YYYY-MM`);
  const existing = await deps.invoices.invoice(tenantId, month);
  if (existing) return { invoice: await completeIssue(deps, existing), created: false };

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

  // Batches a crashed writer left behind are finished first, and batches received by the cutoff
  // that are still finishing are waited for, so the roll-ups hold every leg stored by then.
  await deps.legs.recover();
  const cutoff = new Date(now.getTime() - deps.settleMs);
  const pending = await deps.legs.awaitApplied(cutoff);
  if (pending > 0) {
    throw new CloseRefusedError(
      `${pending} batch(es) of rated legs received by the cutoff are still being stored; close again later`,
    );
  }
  const rows = await deps.legs.rollups.at(tenantId, month, cutoff);
  const usage = usageRowsFrom(rows);
  const billed: BilledMonth[] = [{ month, rows }];
  const corrections: CorrectionRow[] = [];
  if (before) {
    // Months invoiced before: what their roll-ups hold now beyond what was billed of them.
    const billedBefore = await deps.legs.rollups.billed(tenantId);
    for (const earlier of await deps.legs.rollups.months(tenantId)) {
      const was = billedBefore.get(earlier);
      if (earlier >= month || !was) continue;
      const current = await deps.legs.rollups.at(tenantId, earlier, cutoff);
      const changed = correctionRows(earlier, was, current);
      if (changed.length === 0) continue;
      corrections.push(...changed);
      billed.push({ month: earlier, rows: current });
    }
  }
  // Never billed as 0 by default: without rating's answer there is no invoice.
  const packages = await deps.voicePackages(tenantId, month).catch((error: unknown) => {
    throw new CloseRefusedError(
      `rating did not tell the voice packages of ${month} (${error instanceof Error ? error.message : String(error)}); close again once rating answers`,
    );
  });
  const unassigned = unassignedSites(profile, [...usage.rows, ...corrections]);
  if (unassigned.length > 0) deps.onUnassignedSites?.({ tenantId, month, siteIds: unassigned });
  const totals = buildInvoice(profile, packages, month, usage.rows, corrections);
  const period = monthPeriod(month);
  const invoice: InvoiceRecord & { billed: BilledMonth[] } = {
    ...totals,
    tenantId,
    month,
    status: 'issuing',
    invoiceNumber: invoiceNumber(tenantId, month),
    issuedAt: now,
    periodStart: period.start,
    periodEnd: period.end,
    dueDate: berlinDate(now, deps.seller.paymentTermsDays),
    legCount: usage.legs,
    cutoff,
    buyer: profile.buyer,
    seller: deps.seller,
    billed,
  };
  // One document holds all of the invoice (lines, allocation, billed rows): it exists whole or not.
  if (!(await deps.invoices.insert(invoice))) {
    const winner = await deps.invoices.invoice(tenantId, month);
    if (!winner) throw new Error(`invoice ${tenantId} ${month} vanished after a concurrent close`);
    return { invoice: await completeIssue(deps, winner), created: false };
  }
  deps.reached?.('invoice-stored');
  return { invoice: await completeIssue(deps, invoice), created: true };
}

/**
 * Finishes issuing a stored invoice: both documents stored, the event published, then `issued`.
 * Every step is a repeat-safe write (a stored document is kept, the event id is fixed), so after a
 * crash anyone may run it again, and two replicas may run it at once.
 */
export async function completeIssue(
  deps: Pick<MonthCloseDependencies, 'invoices' | 'documents' | 'announce' | 'issues' | 'reached'>,
  invoice: InvoiceRecord,
): Promise<InvoiceRecord> {
  if (invoice.status === 'issued') return invoice;
  return deps.issues.run(`${invoice.tenantId}|${invoice.month}`, async () => {
    await deps.documents.get(invoice, 'pdf');
    deps.reached?.('pdf-stored');
    await deps.documents.get(invoice, 'xrechnung');
    deps.reached?.('documents-stored');
    await deps.announce(invoice);
    deps.reached?.('announced');
    await deps.invoices.markIssued(invoice.tenantId, invoice.month);
    return { ...invoice, status: 'issued' };
  });
}

/**
 * Finishes every invoice a crash left `issuing` (at start and periodically); returns how many.
 * The crash tests' fault injection (`reached`) stops closes only, never this sweep.
 */
export async function completeInterruptedIssues(
  deps: Pick<MonthCloseDependencies, 'invoices' | 'documents' | 'announce' | 'issues'>,
): Promise<number> {
  const { invoices, documents, announce, issues } = deps;
  let completed = 0;
  for (const { tenantId, month } of await invoices.issuing()) {
    const invoice = await invoices.invoice(tenantId, month);
    if (invoice?.status !== 'issuing') continue;
    await completeIssue({ invoices, documents, announce, issues }, invoice);
    completed += 1;
  }
  return completed;
}
