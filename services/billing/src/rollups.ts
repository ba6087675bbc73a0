import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import type { CorrectionRow, UsageRow } from './invoice.js';
import { INVOICES, type InvoiceRecord } from './invoices.js';
import { addContribution, emptyContribution, type LegContribution } from './sums.js';

/**
 * Which part of a month's usage a contribution belongs to: `first` — legs as first stored (and
 * reratings of versions no invoice has billed yet); `rerated` — reratings of versions an invoice
 * billed. Month close bills both; a later close bills the difference of each as a correction
 * (`late` and `rerated`).
 */
export type Part = 'first' | 'rerated';

/** Usage of one site, class and pool in one part of a month. */
export interface RollupRow extends LegContribution {
  siteId: string;
  destinationClass: string;
  pool: string;
  part: Part;
  /** Reratings applied (the `rerated` part's leg count, for correction lines). */
  reratings: number;
}

/** What one batch changes in one tenant's month. */
export interface RollupDelta {
  tenantId: string;
  month: string;
  rows: RollupRow[];
}

/**
 * One revision of a tenant's month, summed incrementally as rated legs arrive: rows per (site,
 * class, pool, part). Each change inserts the next revision (`<rollup>#<rev>`): an insert of a
 * unique `_id` is the one compare-and-set FerretDB v1 keeps under concurrency. `writers` is, per
 * writer (a billing process's leg store), the sequence number of its last batch in the sums:
 * a writer's batches are applied in order, so a batch at or below it is skipped — a replay after
 * a crash cannot count twice.
 */
interface RollupDocument {
  _id: string;
  rollup: string;
  tenantId: string;
  month: string;
  rev: number;
  writers: Array<{ writer: string; seq: number }>;
  /** `RollupRow[]` as JSON: one field instead of hundreds (FerretDB's cost is per field). */
  rows: string;
  updatedAt: Date;
}

/**
 * A batch of legs (its journal): written before its legs, so a crash at any later point leaves
 * it behind to be finished (`open`: legs may be stored, deltas not computed; `ready`: deltas
 * computed, maybe partly applied). Applied journals are kept for `retentionMs`, so a close can
 * take off what arrived after its cutoff.
 */
export interface JournalDocument {
  _id: string;
  writer: string;
  seq: number;
  receivedAt: Date;
  state: 'open' | 'ready' | 'applied';
  leaseUntil: Date;
  /** Roll-up ids the deltas change (for the close's look-up). */
  rollups: string[];
  /** `RollupDelta[]` as JSON, once `ready`. */
  deltas: string;
}

/** What an invoice billed of each month (stored with the invoice record, written once with it). */
export interface BilledMonth {
  month: string;
  rows: RollupRow[];
}

type BilledRecord = Pick<InvoiceRecord, 'tenantId' | 'month'> & { billed?: BilledMonth[] };

export const journalDeltas = (journal: Pick<JournalDocument, 'deltas'>): RollupDelta[] =>
  journal.deltas ? (JSON.parse(journal.deltas) as RollupDelta[]) : [];

const rowsOf = (rollup: RollupDocument | undefined): RollupRow[] =>
  rollup ? (JSON.parse(rollup.rows) as RollupRow[]) : [];

export const ROLLUPS = 'usage_rollups';
export const JOURNAL = 'rollup_journal';
/**
 * The keys of a batch's legs, one per line, beside its journal until it is applied: only
 * recovery reads them, and journals stay small for the queries that scan them.
 */
export const JOURNAL_LEGS = 'rollup_journal_legs';

export const rollupIndexes: readonly IndexDeclaration[] = [
  { collection: ROLLUPS, key: { rollup: 1, rev: -1 }, options: { name: 'rollup_rev' } },
  { collection: ROLLUPS, key: { tenantId: 1, month: 1 }, options: { name: 'tenant_month' } },
];

/** Revisions kept behind the newest (older ones are pruned by recovery). */
const KEPT_REVISIONS = 20;

export const rollupId = (tenantId: string, month: string) =>
  `${encodeURIComponent(tenantId)}|${encodeURIComponent(month)}`;

const rowKey = (row: Pick<RollupRow, 'siteId' | 'destinationClass' | 'pool' | 'part'>) =>
  [row.siteId, row.destinationClass, row.pool, row.part].join('\u0000');

/** `rows` plus `sign` × `add`, merged by (site, class, pool, part); rows that come to nothing go. */
export function mergeRows(rows: readonly RollupRow[], add: readonly RollupRow[], sign: 1 | -1): RollupRow[] {
  const merged = new Map<string, RollupRow>(
    rows.map((row) => [rowKey(row), { ...row, charges: [...row.charges], connectionFees: [...row.connectionFees] }]),
  );
  for (const row of add) {
    const key = rowKey(row);
    let sum = merged.get(key);
    if (!sum) {
      const { siteId, destinationClass, pool, part } = row;
      sum = { siteId, destinationClass, pool, part, reratings: 0, ...emptyContribution() };
      merged.set(key, sum);
    }
    addContribution(sum, row, sign);
    sum.reratings += sign * row.reratings;
  }
  return [...merged.values()]
    .filter((row) => !isEmpty(row))
    .sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));
}

const isEmpty = (row: RollupRow) =>
  row.amount === 0 &&
  row.billedSeconds === 0 &&
  row.bundleSeconds === 0 &&
  row.overageSeconds === 0 &&
  row.legs === 0 &&
  row.reratings === 0 &&
  row.charges.length === 0 &&
  row.connectionFees.length === 0;

/** A month's usage rows (both parts together) as month close bills them. */
export function usageRowsFrom(rows: readonly RollupRow[]): { rows: UsageRow[]; legs: number } {
  const usage = new Map<string, UsageRow>();
  let legs = 0;
  for (const row of rows) {
    const key = [row.siteId, row.destinationClass, row.pool].join('\u0000');
    let sum = usage.get(key);
    if (!sum) {
      sum = { siteId: row.siteId, destinationClass: row.destinationClass, pool: row.pool, ...emptyContribution() };
      usage.set(key, sum);
    }
    addContribution(sum, row, 1);
    legs += row.legs;
  }
  return { rows: [...usage.values()].filter((row) => row.legs !== 0 || row.amount !== 0), legs };
}

/**
 * What changed in a month between what was billed and now, per site, class and reason: the
 * `first` part's difference is `late`, the `rerated` part's is `rerated`.
 */
export function correctionRows(
  month: string,
  billed: readonly RollupRow[],
  now: readonly RollupRow[],
): CorrectionRow[] {
  const delta = mergeRows(now, billed, -1);
  const rows = new Map<string, CorrectionRow>();
  for (const row of delta) {
    const reason = row.part === 'first' ? 'late' : 'rerated';
    const key = [row.siteId, row.destinationClass, reason].join('\u0000');
    let sum = rows.get(key);
    if (!sum) {
      sum = {
        month,
        siteId: row.siteId,
        destinationClass: row.destinationClass,
        reason,
        amount: 0,
        billedSeconds: 0,
        charges: [],
        connectionFees: [],
        legs: 0,
      };
      rows.set(key, sum);
    }
    const contribution = { ...emptyContribution(), ...row, bundleSeconds: 0, overageSeconds: 0 };
    const total: LegContribution = { ...emptyContribution(), ...sum, bundleSeconds: 0, overageSeconds: 0 };
    addContribution(total, contribution, 1);
    sum.amount = total.amount;
    sum.billedSeconds = total.billedSeconds;
    sum.charges = total.charges;
    sum.connectionFees = total.connectionFees;
    sum.legs += reason === 'late' ? row.legs : row.reratings;
  }
  return [...rows.values()].filter(
    (row) => row.amount !== 0 || row.billedSeconds !== 0 || row.charges.length > 0 || row.connectionFees.length > 0,
  );
}

export class RollupStore {
  readonly rollups: Collection<RollupDocument>;
  readonly journal: Collection<JournalDocument>;
  readonly journalLegs: Collection<{ _id: string; legs: string }>;

  constructor(db: Db) {
    this.rollups = db.collection<RollupDocument>(ROLLUPS);
    this.journal = db.collection<JournalDocument>(JOURNAL);
    this.journalLegs = db.collection(JOURNAL_LEGS);
  }

  private readonly revisions = new Map<string, number>();

  /** The newest revision of a roll-up: from the last one seen here, probing forward. */
  private async newest(rollup: string): Promise<RollupDocument | undefined> {
    const seen = this.revisions.get(rollup);
    let found: RollupDocument | null =
      seen === undefined ? null : await this.rollups.findOne({ _id: `${rollup}#${seen}` });
    found ??= await this.rollups.findOne({ rollup }, { sort: { rev: -1 } });
    if (!found) return undefined;
    for (;;) {
      const next: RollupDocument | null = await this.rollups.findOne({ _id: `${rollup}#${found.rev + 1}` });
      if (!next) break;
      found = next;
    }
    this.revisions.set(rollup, found.rev);
    return found;
  }

  /**
   * Applies a journal's deltas, each roll-up once: inserts its next revision with the sums and
   * the writer's sequence number; skipped where that number shows the batch is in the sums (a
   * replay after a crash, or a recovery racing the writer); retried when another writer took the
   * revision first.
   */
  async apply(
    journal: Pick<JournalDocument, 'writer' | 'seq'>,
    deltas: readonly RollupDelta[],
    now: Date,
  ): Promise<void> {
    for (const delta of deltas) {
      const rollup = rollupId(delta.tenantId, delta.month);
      for (;;) {
        const current = await this.newest(rollup);
        if (current && appliedIn(current, journal)) break;
        const rev = (current?.rev ?? 0) + 1;
        try {
          await withTypedErrors(this.rollups, (c) =>
            c.insertOne({
              _id: `${rollup}#${rev}`,
              rollup,
              tenantId: delta.tenantId,
              month: delta.month,
              rev,
              writers: [
                ...(current?.writers ?? []).filter((entry) => entry.writer !== journal.writer),
                { writer: journal.writer, seq: journal.seq },
              ],
              rows: JSON.stringify(mergeRows(rowsOf(current), delta.rows, 1)),
              updatedAt: now,
            }),
          );
          this.revisions.set(rollup, rev);
          break;
        } catch (error) {
          if (!(error instanceof DuplicateKeyError)) throw error;
        }
      }
    }
  }

  /** Drops revisions far behind the newest of each roll-up. */
  async prune(): Promise<void> {
    const heads = new Map<string, number>();
    for await (const entry of this.rollups.find({}, { projection: { rollup: 1, rev: 1 } })) {
      heads.set(entry.rollup, Math.max(heads.get(entry.rollup) ?? 0, entry.rev));
    }
    for (const [rollup, rev] of heads) {
      if (rev > KEPT_REVISIONS) await this.rollups.deleteMany({ rollup, rev: { $lt: rev - KEPT_REVISIONS } });
    }
  }

  /**
   * The month's roll-up as it stood at `cutoff`: the newest sums minus the batches in them that
   * arrived after it (their journals are kept for the retention time).
   */
  async at(tenantId: string, month: string, cutoff: Date): Promise<RollupRow[]> {
    const rollup = rollupId(tenantId, month);
    const current = await this.newest(rollup);
    if (!current) return [];
    const later = await this.journal
      .find({ rollups: rollup, receivedAt: { $gt: cutoff } }, { projection: { writer: 1, seq: 1, deltas: 1 } })
      .toArray();
    let rows = rowsOf(current);
    for (const journal of later) {
      if (!appliedIn(current, journal)) continue;
      for (const delta of journalDeltas(journal)) {
        if (delta.tenantId === tenantId && delta.month === month) rows = mergeRows(rows, delta.rows, -1);
      }
    }
    return rows;
  }

  /**
   * Per month, the roll-up rows the tenant's invoices billed so far: each invoice keeps the rows
   * of every month it billed (its own, and those it corrected) as they stood at its cutoff.
   */
  async billed(tenantId: string): Promise<Map<string, RollupRow[]>> {
    const invoices = await this.journal.db
      .collection<BilledRecord>(INVOICES)
      .find({ tenantId }, { projection: { month: 1, billed: 1 } })
      .toArray();
    const billed = new Map<string, RollupRow[]>();
    for (const invoice of invoices.sort((a, b) => a.month.localeCompare(b.month))) {
      for (const entry of invoice.billed ?? []) billed.set(entry.month, entry.rows);
    }
    return billed;
  }

  /** The months of a tenant that have a roll-up, ascending. */
  async months(tenantId: string): Promise<string[]> {
    const found = await this.rollups.find({ tenantId }, { projection: { month: 1 } }).toArray();
    return [...new Set(found.map((entry) => entry.month))].sort();
  }
}

function appliedIn(rollup: RollupDocument, journal: Pick<JournalDocument, 'writer' | 'seq'>): boolean {
  const entry = rollup.writers.find((candidate) => candidate.writer === journal.writer);
  return entry !== undefined && entry.seq >= journal.seq;
}
