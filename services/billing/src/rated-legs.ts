import { randomUUID } from 'node:crypto';
import { isShortened, shortenNumber } from '@switchboard/numbering';
import { DuplicateKeyError, withTypedErrors } from '@switchboard/service-kit';
import { MongoBulkWriteError, type Collection, type Db, type FindCursor } from 'mongodb';
import type { ChargeSum } from './invoice.js';
import { INVOICES, type InvoiceRecord } from './invoices.js';
import {
  journalDeltas,
  mergeRows,
  rollupId,
  RollupStore,
  type JournalDocument,
  type Part,
  type RollupDelta,
  type RollupRow,
} from './rollups.js';
import { addContribution, contributionOf, emptyContribution } from './sums.js';

/** A rated leg as billing stores it: the highest version in `current_legs`, those it replaced in `rated_legs`. */
export interface StoredLeg {
  tenantId: string;
  callId: string;
  legId: string;
  ratingVersion: number;
  siteId: string;
  startedAt: Date;
  billingMonth: string;
  destination: string;
  destinationClass: string;
  durationSeconds: number;
  billedSeconds: number;
  pool: string;
  bundleSeconds: number;
  overageSeconds: number;
  /** 1/10,000 EUR. */
  connectionFee: number;
  amount: number;
  tariffId: string;
  tariffVersion: number;
  /**
   * What amount without the connection fee is made of, per price per minute (RatedLeg.charges);
   * absent on legs stored before rating sent it (see `legCharges`).
   */
  charges?: ChargeSum[];
  /** The call's W3C trace context; absent on legs stored before it was recorded. */
  traceparent?: string;
  /** When billing stored this version (its batch): decides which invoice it lands on. */
  receivedAt: Date;
}

export const CURRENT_LEGS = 'current_legs';
/** Every version of a leg that replaced or followed its first, and first versions once replaced: kept for recomputing deltas. */
export const RATED_LEGS = 'rated_legs';
/** `<leg>><version>`: which version replaced a version — inserted once, so exactly one batch owns each rerating. */
export const LEG_TRANSITIONS = 'leg_transitions';

// Uniqueness is the `_id` (tenant, call, leg[, version]): FerretDB answers `_id` look-ups from
// its primary key, where other filters scan the collection. It is also the only compare-and-set
// FerretDB v1 keeps under concurrency (two concurrent `replaceOne`s with the same filter both
// match), so every step that must happen once is an insert of a unique `_id`. No secondary index
// on the legs: on FerretDB it made every insert a third slower, and only the export filters them.
/**
 * `batch`: the journal of the batch that stored this version; `firstVersion`/`firstBatch`: the
 * version that created the leg and its batch (kept when later versions replace the document).
 */
type LegRecord = StoredLeg & {
  _id: string;
  batch?: string;
  firstVersion?: number;
  firstBatch?: string;
  previousVersion?: number;
};

interface Transition {
  _id: string;
  to: number;
  batch: string;
}

const legKey = (leg: Pick<StoredLeg, 'tenantId' | 'callId' | 'legId'>) =>
  [leg.tenantId, leg.callId, leg.legId].map(encodeURIComponent).join('|');
const versionKey = (key: string, version: number) => `${key}|${version}`;
const transitionKey = (key: string, from: number) => `${key}>${from}`;

/** What a batch changed: a leg's first version, or one version replaced by a higher one. */
type Change = { leg: StoredLeg; previous?: undefined } | { leg: StoredLeg; previous: StoredLeg };

export interface RatedLegStoreOptions {
  clock?: () => Date;
  /** How long a batch may take before another process finishes it (crash recovery). */
  leaseMs?: number;
  /** How long applied journals are kept: longer than any close's settle time. */
  retentionMs?: number;
}

/**
 * Rated legs and the monthly roll-ups built from them. `record` stores a batch of leg versions
 * and applies what they change to the roll-ups, exactly once per version:
 *
 * 1. a journal for the batch (writer, sequence number, leg keys) is inserted first;
 * 2. the legs are inserted unordered by `_id` (one document per leg), stamped with the journal.
 *    A leg's first version is owned by the insert that stored it. A duplicate `_id` is a
 *    redelivery, an older version (nothing to do) or a rerating: the batch that inserts the
 *    transition `<leg>><current version>` owns it and adds new minus replaced;
 * 3. the deltas go into the journal (`ready`);
 * 4. each roll-up takes them as a new revision (an insert), recording the writer's sequence
 *    number, so a replay skips a roll-up that has them;
 * 5. the journal is marked `applied`.
 *
 * The deltas of different batches add up in any order (a rerating's delta is new minus replaced,
 * so the versions of a leg telescope to its highest). A crash anywhere leaves the journal behind;
 * `recover` (at start, periodically, before a close) finishes journals whose lease ran out,
 * recomputing the deltas from the documents stamped with the journal. A failed batch retires
 * the writer id, so a writer's batches reach the roll-ups in order.
 */
export class RatedLegStore {
  private readonly current: LegCollection;
  private readonly versions: LegCollection;
  private readonly transitions: Collection<Transition>;
  private readonly invoices: Collection<Pick<InvoiceRecord, 'tenantId' | 'month' | 'cutoff'>>;
  readonly rollups: RollupStore;
  private readonly clock: () => Date;
  private readonly leaseMs: number;
  readonly retentionMs: number;
  private writer = randomUUID();
  private seq = 0;
  private storing: Promise<void> = Promise.resolve();
  private finishing: Promise<void> = Promise.resolve();
  /** Writers whose batch failed, with that failure (an outage stays one for the batches behind it). */
  private readonly retired = new Map<string, unknown>();

  constructor(db: Db, options: RatedLegStoreOptions = {}) {
    this.current = new LegCollection(db.collection<LegDocument>(CURRENT_LEGS));
    this.versions = new LegCollection(db.collection<LegDocument>(RATED_LEGS));
    this.transitions = db.collection<Transition>(LEG_TRANSITIONS);
    this.invoices = db.collection(INVOICES);
    this.rollups = new RollupStore(db);
    this.clock = options.clock ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? 60_000;
    this.retentionMs = options.retentionMs ?? 3_600_000;
  }

  /**
   * Stores a batch of rated leg versions (stamped received now) and applies what they change to
   * the roll-ups. Idempotent per version. Returns how many versions changed something.
   */
  record(legs: readonly StoredLeg[]): Promise<number> {
    if (legs.length === 0) return Promise.resolve(0);
    const journal = this.journalFor();
    // Pipelined: a batch stores its legs while the one before finishes; batches reach the
    // roll-ups in sequence order, and after a failure the writer's later batches wait for
    // recovery too (which takes a writer's journals in order).
    const stored = this.storing.then(() => this.store(journal, legs));
    this.storing = stored.then(ignore, ignore);
    const before = this.finishing;
    const done = (async () => {
      let changes: Change[];
      try {
        changes = await stored;
      } catch (error) {
        this.retire(journal.writer, error);
        throw error;
      }
      await before;
      if (this.retired.has(journal.writer)) {
        throw new Error(`batch ${journal._id} is left to recovery: an earlier batch of its writer failed`, {
          cause: this.retired.get(journal.writer),
        });
      }
      try {
        await this.finish(journal, changes);
      } catch (error) {
        this.retire(journal.writer, error);
        throw error;
      }
      return changes.length;
    })();
    this.finishing = done.then(ignore, ignore);
    return done;
  }

  private journalFor(): JournalDocument {
    const receivedAt = this.clock();
    this.seq += 1;
    return {
      _id: `${this.writer}|${this.seq}`,
      writer: this.writer,
      seq: this.seq,
      receivedAt,
      state: 'open',
      leaseUntil: new Date(receivedAt.getTime() + this.leaseMs),
      rollups: [],
      deltas: '',
    };
  }

  /** A failed batch: this writer's later batches must not overtake it; new ones get a new id. */
  private retire(writer: string, failure: unknown): void {
    if (!this.retired.has(writer)) this.retired.set(writer, failure);
    if (this.writer === writer) {
      this.writer = randomUUID();
      this.seq = 0;
    }
  }

  /** Steps 1-2: the journal, then the legs; what they changed. */
  private async store(journal: JournalDocument, legs: readonly StoredLeg[]): Promise<Change[]> {
    // The journal first: a crash before the key list means no leg of the batch was stored yet.
    await this.rollups.journal.insertOne(journal);
    await this.rollups.journalLegs.insertOne({ _id: journal._id, legs: [...new Set(legs.map(legKey))].join('\n') });
    const documents: LegRecord[] = legs.map((leg) => ({
      ...leg,
      receivedAt: journal.receivedAt,
      _id: legKey(leg),
      batch: journal._id,
      firstVersion: leg.ratingVersion,
      firstBatch: journal._id,
    }));
    const duplicates = await this.current.insertAll(documents);
    const changes: Change[] = documents.filter((_document, index) => !duplicates.has(index)).map((leg) => ({ leg }));
    for (const index of [...duplicates].sort((a, b) => a - b)) {
      const change = await this.settle(documents[index]!, journal._id);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** A version whose leg exists: a redelivery, an older version, or a rerating this batch may own. */
  private async settle(leg: LegRecord, batch: string): Promise<Change | undefined> {
    const { _id: key, ratingVersion } = leg;
    const { firstVersion: _first, firstBatch: _firstBatch, ...version } = leg;
    // Kept first, so whoever computes a delta against it later finds it.
    await this.archive({ ...version, _id: versionKey(key, ratingVersion) });
    const current = await this.current.get(key);
    if (!current) throw new Error(`leg ${key} vanished after a duplicate insert`);
    let from = current.ratingVersion;
    // Follow the versions that replaced the current document's (it may lag behind by a step).
    for (;;) {
      if (from >= ratingVersion) {
        await this.catchUp(key, current, from);
        return undefined;
      }
      try {
        await withTypedErrors(this.transitions, (c) =>
          c.insertOne({ _id: transitionKey(key, from), to: ratingVersion, batch }),
        );
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
        const taken = await this.transitions.findOne({ _id: transitionKey(key, from) });
        if (!taken) throw new Error(`transition ${transitionKey(key, from)} vanished`, { cause: error });
        from = taken.to;
        continue;
      }
      const previous = await this.content(key, from, current);
      if (!previous) throw new Error(`leg ${key}: version ${from} it replaces is not stored`);
      await this.makeCurrent(key, { ...version, previousVersion: from });
      return { leg: version, previous };
    }
  }

  /** A version's document: kept in `rated_legs`, or still the current one. */
  private async content(key: string, version: number, current?: LegRecord): Promise<LegRecord | undefined> {
    const kept = await this.versions.get(versionKey(key, version));
    if (kept) return kept;
    const now = current?.ratingVersion === version ? current : await this.current.get(key);
    return now?.ratingVersion === version ? now : undefined;
  }

  private async archive(version: LegRecord): Promise<void> {
    await this.versions.insertAll([version]);
  }

  /**
   * Points the leg's document at a higher version, keeping what it replaces. Several reratings
   * racing may leave an older one written last: whoever wrote checks whether its version was
   * replaced since, and then writes the newest.
   */
  private async makeCurrent(key: string, version: LegRecord): Promise<void> {
    let next: LegRecord | undefined = version;
    while (next) {
      const current = await this.current.get(key);
      if (!current || current.ratingVersion >= next.ratingVersion) return;
      const { firstVersion, firstBatch, ...replaced } = current;
      await this.archive({ ...replaced, _id: versionKey(key, current.ratingVersion) });
      const { _id: _kept, ...fields } = next;
      await this.current.replace({
        ...fields,
        _id: key,
        ...(firstVersion === undefined ? {} : { firstVersion }),
        ...(firstBatch ? { firstBatch } : {}),
      });
      const later: Transition | null = await this.transitions.findOne({ _id: transitionKey(key, next.ratingVersion) });
      next = later ? await this.content(key, later.to) : undefined;
    }
  }

  /** Points the leg's document at `newest` when a writer died before it did. */
  private async catchUp(key: string, current: LegRecord, newest: number): Promise<void> {
    if (current.ratingVersion >= newest) return;
    const version = await this.content(key, newest);
    if (version) await this.makeCurrent(key, version);
  }

  /** Steps 3-5: deltas into the journal, roll-ups, journal applied. */
  private async finish(journal: JournalDocument, changes: readonly Change[]): Promise<void> {
    const deltas = await this.deltasOf(changes);
    await this.rollups.journal.updateOne(
      { _id: journal._id },
      {
        $set: {
          state: 'ready',
          deltas: JSON.stringify(deltas),
          rollups: deltas.map((delta) => rollupId(delta.tenantId, delta.month)),
        },
      },
    );
    await this.rollups.apply(journal, deltas, this.clock());
    await this.applied(journal._id);
  }

  private async applied(batch: string): Promise<void> {
    await this.rollups.journal.updateOne({ _id: batch }, { $set: { state: 'applied' } });
    await this.rollups.journalLegs.deleteOne({ _id: batch });
  }

  /**
   * Per tenant month, what the changes add: a first version in full; a rerating the new version
   * minus the one it replaced — the `rerated` part when an invoice billed the replaced version
   * (stored by the tenant's latest close cutoff), the `first` part otherwise.
   */
  private async deltasOf(changes: readonly Change[]): Promise<RollupDelta[]> {
    const byMonth = new Map<string, { tenantId: string; month: string; rows: Map<string, RollupRow> }>();
    const cutoffs = new Map<string, number>();
    const add = (leg: StoredLeg, part: Part, sign: 1 | -1, reratings: number) => {
      const id = rollupId(leg.tenantId, leg.billingMonth);
      let delta = byMonth.get(id);
      if (!delta) {
        delta = { tenantId: leg.tenantId, month: leg.billingMonth, rows: new Map() };
        byMonth.set(id, delta);
      }
      const { siteId, destinationClass, pool } = leg;
      const key = [siteId, destinationClass, pool, part].join('\u0000');
      let row = delta.rows.get(key);
      if (!row) {
        row = { siteId, destinationClass, pool, part, reratings: 0, ...emptyContribution() };
        delta.rows.set(key, row);
      }
      addContribution(row, contributionOf(leg), sign);
      row.reratings += sign * reratings;
    };
    for (const { leg, previous } of changes) {
      if (!previous) {
        add(leg, 'first', 1, 0);
        continue;
      }
      if (!cutoffs.has(leg.tenantId)) cutoffs.set(leg.tenantId, await this.lastCutoff(leg.tenantId));
      const part: Part = previous.receivedAt.getTime() <= (cutoffs.get(leg.tenantId) ?? 0) ? 'rerated' : 'first';
      add(previous, part, -1, 0);
      add(leg, part, 1, part === 'rerated' ? 1 : 0);
    }
    return [...byMonth.values()]
      .map(({ tenantId, month, rows }) => ({ tenantId, month, rows: mergeRows([], [...rows.values()], 1) }))
      .filter((delta) => delta.rows.length > 0);
  }

  /** The cutoff of the tenant's latest invoice (0 before the first). */
  private async lastCutoff(tenantId: string): Promise<number> {
    const latest = await this.invoices.findOne({ tenantId }, { sort: { month: -1 }, projection: { cutoff: 1 } });
    return latest?.cutoff.getTime() ?? 0;
  }

  /**
   * Finishes batches whose writer died or failed (lease ran out): takes the lease, recomputes the
   * deltas of an `open` journal from the documents stamped with it, applies them (a roll-up that
   * has them skips them), marks the journal applied. Then drops applied journals older than the
   * retention and old roll-up revisions. Safe to run in several processes at once.
   */
  async recover(): Promise<number> {
    const now = this.clock();
    const stale = await this.rollups.journal
      .find({ state: { $ne: 'applied' }, leaseUntil: { $lt: now } }, { projection: { writer: 1, seq: 1 } })
      .toArray();
    // A writer's journals in sequence order; one that cannot be taken now holds back the later ones.
    stale.sort((a, b) => (a.writer === b.writer ? a.seq - b.seq : a.writer < b.writer ? -1 : 1));
    let recovered = 0;
    let blocked = '';
    for (const { _id, writer } of stale) {
      if (writer === blocked) continue;
      const journal = await this.rollups.journal.findOne({ _id });
      if (!journal || journal.state === 'applied') continue;
      if (await this.recoverJournal(journal)) recovered += 1;
      else blocked = writer;
    }
    await this.rollups.journal.deleteMany({
      state: 'applied',
      receivedAt: { $lt: new Date(now.getTime() - this.retentionMs) },
    });
    await this.rollups.prune();
    return recovered;
  }

  /**
   * Waits until every batch received by `cutoff` is in the roll-ups: a batch whose legs are
   * stored may still be finishing, and one whose writer died is finished here once its lease ran
   * out. Returns how many are still pending after twice the lease.
   */
  async awaitApplied(cutoff: Date): Promise<number> {
    const deadline = performance.now() + 2 * this.leaseMs;
    for (;;) {
      const pending = await this.rollups.journal
        .find({ state: { $ne: 'applied' }, receivedAt: { $lte: cutoff } }, { projection: { leaseUntil: 1 } })
        .toArray();
      if (pending.length === 0 || performance.now() > deadline) return pending.length;
      const now = this.clock().getTime();
      if (pending.some((journal) => journal.leaseUntil.getTime() < now)) await this.recover();
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async recoverJournal(journal: JournalDocument): Promise<boolean> {
    const leaseUntil = new Date(this.clock().getTime() + this.leaseMs);
    const taken = await this.rollups.journal.updateOne(
      { _id: journal._id, leaseUntil: journal.leaseUntil },
      { $set: { leaseUntil } },
    );
    if (taken.matchedCount !== 1) return false;
    if (journal.state === 'open') {
      const changes: Change[] = [];
      const keys = (await this.rollups.journalLegs.findOne({ _id: journal._id }))?.legs.split('\n') ?? [];
      for (const key of keys) changes.push(...(await this.changesOf(key, journal._id)));
      await this.finish(journal, changes);
    } else {
      await this.rollups.apply(journal, journalDeltas(journal), this.clock());
      await this.applied(journal._id);
    }
    return true;
  }

  /** What a batch changed of one leg, read back from the documents it stamped. */
  private async changesOf(key: string, batch: string): Promise<Change[]> {
    const current = await this.current.get(key);
    if (!current) return [];
    const changes: Change[] = [];
    let version = current.firstVersion ?? current.ratingVersion;
    let content = await this.content(key, version, current);
    if (current.firstBatch === batch && content) changes.push({ leg: content });
    for (;;) {
      const transition = await this.transitions.findOne({ _id: transitionKey(key, version) });
      if (!transition) {
        await this.catchUp(key, current, version);
        return changes;
      }
      const next = await this.content(key, transition.to, current);
      if (transition.batch === batch && content && next) changes.push({ leg: next, previous: content });
      version = transition.to;
      content = next;
    }
  }

  /** The month's legs in their current version, by start time, streamed from the database. */
  exportMonth(tenantId: string, month: string): FindCursor<StoredLeg> {
    return this.current.month(tenantId, month);
  }

  /**
   * Data protection (src/privacy.ts): shortens the destination of the tenant's legs, current and
   * replaced versions, that started in `[from, before)` (any time when left out) and that `pick`
   * selects; internal legs name no citizen and stay. Amounts and seconds are not touched.
   */
  async shortenNumbers(
    range: { tenantId: string; from?: Date; before?: Date },
    pick: (leg: StoredLeg) => boolean,
  ): Promise<{ shortened: number; missed: number }> {
    const total = { shortened: 0, missed: 0 };
    for (const collection of [this.current, this.versions]) {
      const outcome = await collection.shortenNumbers(range, pick);
      total.shortened += outcome.shortened;
      total.missed += outcome.missed;
    }
    return total;
  }
}

/**
 * What is stored of a leg version: the keys its queries filter and sort by, and the rest as one
 * JSON array of values (`LEG_FIELDS` order). FerretDB v1 spends its time per field and per byte:
 * a leg with two dozen fields inserted at about a fifth of this shape's rate, and the same shape
 * with the record as a JSON object (keys and all, 600 characters instead of 150) a quarter slower.
 */
interface LegDocument {
  _id: string;
  tenantId: string;
  billingMonth: string;
  startedAt: Date;
  leg: string;
}

const LEG_FIELDS = [
  'callId',
  'legId',
  'ratingVersion',
  'siteId',
  'destination',
  'destinationClass',
  'durationSeconds',
  'billedSeconds',
  'pool',
  'bundleSeconds',
  'overageSeconds',
  'connectionFee',
  'amount',
  'tariffId',
  'tariffVersion',
  'traceparent',
  'batch',
  'firstVersion',
  'previousVersion',
] as const satisfies ReadonlyArray<keyof LegRecord>;

type Value = string | number | boolean | null | Value[];

function encode(record: LegRecord): LegDocument {
  const { _id, tenantId, billingMonth, startedAt } = record;
  const values: Value[] = LEG_FIELDS.map((field) => record[field] ?? null);
  values.push(
    record.receivedAt.getTime(),
    // `true`: created by the batch that stored this version (the usual case, and shorter).
    record.firstBatch === undefined ? null : record.firstBatch === record.batch ? true : record.firstBatch,
    record.charges === undefined
      ? null
      : record.charges.flatMap((charge) => [charge.pricePerMinute, charge.seconds, charge.amount]),
  );
  return { _id, tenantId, billingMonth, startedAt, leg: JSON.stringify(values) };
}

function decode(document: LegDocument): LegRecord {
  const values = JSON.parse(document.leg) as Value[];
  const record: Record<string, unknown> = {
    _id: document._id,
    tenantId: document.tenantId,
    billingMonth: document.billingMonth,
    startedAt: document.startedAt,
  };
  LEG_FIELDS.forEach((field, index) => {
    const value = values[index];
    if (value !== null && value !== undefined) record[field] = value;
  });
  const [receivedAt, firstBatch, charges] = values.slice(LEG_FIELDS.length) as [
    number,
    string | true | null,
    number[] | null,
  ];
  record['receivedAt'] = new Date(receivedAt);
  if (firstBatch !== null) record['firstBatch'] = firstBatch === true ? record['batch'] : firstBatch;
  if (charges !== null) {
    const sums: ChargeSum[] = [];
    for (let index = 0; index < charges.length; index += 3) {
      sums.push({ pricePerMinute: charges[index]!, seconds: charges[index + 1]!, amount: charges[index + 2]! });
    }
    record['charges'] = sums;
  }
  return record as unknown as LegRecord;
}

const ignore = () => undefined;

const DUPLICATE_KEY = 11000;

/** Leg records by `_id`, stored as `LegDocument`s. */
class LegCollection {
  constructor(private readonly collection: Collection<LegDocument>) {}

  async get(id: string): Promise<LegRecord | undefined> {
    const document = await this.collection.findOne({ _id: id });
    return document ? decode(document) : undefined;
  }

  /** Inserts what is new; returns the indexes of records whose `_id` existed already. */
  async insertAll(records: readonly LegRecord[]): Promise<Set<number>> {
    try {
      await this.collection.insertMany(records.map(encode), { ordered: false });
      return new Set();
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      const other = errors.find((entry) => entry.code !== DUPLICATE_KEY);
      if (other)
        throw new Error(`storing rated legs in ${this.collection.collectionName} failed: ${other.errmsg}`, {
          cause: error,
        });
      return new Set(errors.map((entry) => entry.index));
    }
  }

  async replace(record: LegRecord): Promise<void> {
    await this.collection.replaceOne({ _id: record._id }, encode(record));
  }

  /**
   * Rewrites the picked legs with their destination shortened, each only if it is still as read
   * (a rerating that replaced it meanwhile wins, counted in `missed`).
   */
  async shortenNumbers(
    range: { tenantId: string; from?: Date; before?: Date },
    pick: (leg: StoredLeg) => boolean,
  ): Promise<{ shortened: number; missed: number }> {
    const outcome = { shortened: 0, missed: 0 };
    const startedAt = { ...(range.from ? { $gte: range.from } : {}), ...(range.before ? { $lt: range.before } : {}) };
    const filter = { tenantId: range.tenantId, ...(range.from || range.before ? { startedAt } : {}) };
    for await (const document of this.collection.find(filter).batchSize(500)) {
      const record = decode(document);
      if (record.destinationClass === 'internal' || isShortened(record.destination) || !pick(record)) continue;
      const { leg } = encode({ ...record, destination: shortenNumber(record.destination) });
      const result = await this.collection.updateOne({ _id: document._id, leg: document.leg }, { $set: { leg } });
      if (result.modifiedCount === 1) outcome.shortened += 1;
      else outcome.missed += 1;
    }
    return outcome;
  }

  /** A month's legs as the export shows them, by start time, streamed. */
  month(tenantId: string, month: string): FindCursor<StoredLeg> {
    return (
      this.collection
        .find({ tenantId, billingMonth: month })
        .sort({ startedAt: 1, _id: 1 })
        // Unindexed: MongoDB sorts a large month on disk rather than refuse it.
        .allowDiskUse()
        .map((document) => {
          const {
            _id,
            batch: _batch,
            firstVersion: _first,
            firstBatch: _firstBatch,
            previousVersion: _previous,
            ...leg
          } = decode(document);
          return leg;
        })
    );
  }
}
