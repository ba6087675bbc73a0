import { isShortened, shortenNumber } from '@switchboard/numbering';
import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db, Filter, OptionalUnlessRequiredId, UpdateFilter } from 'mongodb';
import { GridFsFiles } from './gridfs-files.js';

/** What every inbox entry (fax, voicemail) has; its id is the received event's id. */
export interface InboxRecord {
  _id: string;
  tenantId: string;
  /** The department it was routed to; empty when none (a supervisor never sees those). */
  departmentId: string;
  receivedAt: Date;
  status: number;
  reasons: string[];
  mailbox: string;
  viaFallback: boolean;
  deliveryAttempts: number;
  deliveredAt: Date | null;
  messageId: string;
  handledAt: Date | null;
  handledBy: string;
  /**
   * When a retry by API claimed the record (DELIVERY_PENDING without a JetStream message behind
   * it); a claim older than the lease is a retry that died and is taken over. Unset otherwise.
   */
  retryClaimedAt?: Date;
}

/** A new entry's delivery and handling fields: not mailed yet, handled by nobody. */
export const UNDELIVERED = {
  mailbox: '',
  viaFallback: false,
  deliveryAttempts: 0,
  deliveredAt: null,
  messageId: '',
  handledAt: null,
  handledBy: '',
} satisfies Partial<InboxRecord>;

export interface InboxRecordsOptions<R extends InboxRecord> {
  /** What a record is called in errors ("fax", "voicemail"). */
  noun: string;
  collection: string;
  bucket: string;
  /** The metadata key in the bucket's `files` entries that holds the record's id. */
  ownerKey: string;
  /** The kinds of file a record may have in the bucket (`<record id>:<kind>`). */
  fileKinds: readonly string[];
  /** The record's fields that its files' metadata follows after each update. */
  mirroredMetadata(record: R): Record<string, unknown>;
  /** Fields naming a citizen's number, shortened by retention and erase (in the files' metadata too). */
  citizenFields: ReadonlyArray<keyof R & string>;
}

/** The list's index and the bucket's index by record id (`ownerIndex` names the latter). */
export function inboxIndexes(
  options: Pick<InboxRecordsOptions<InboxRecord>, 'collection' | 'bucket' | 'ownerKey'>,
  ownerIndex: string,
): IndexDeclaration[] {
  return [
    { collection: options.collection, key: { tenantId: 1, receivedAt: -1 }, options: { name: 'tenant_received' } },
    {
      collection: options.collection,
      key: { tenantId: 1, departmentId: 1, receivedAt: -1 },
      options: { name: 'tenant_department_received' },
    },
    { collection: options.collection, key: { retryClaimedAt: 1 }, options: { name: 'retry_claimed', sparse: true } },
    {
      collection: `${options.bucket}.files`,
      key: { [`metadata.${options.ownerKey}`]: 1 },
      options: { name: ownerIndex },
    },
  ];
}

export function inboxFileId(recordId: string, kind: string): string {
  return `${recordId}:${kind}`;
}

/** One inbox: records in a MongoDB collection and their files in a GridFS bucket. */
export class InboxRecords<R extends InboxRecord> {
  private readonly records: Collection<R>;
  protected readonly files: GridFsFiles;

  constructor(
    db: Db,
    private readonly options: InboxRecordsOptions<R>,
  ) {
    this.records = db.collection<R>(options.collection);
    this.files = new GridFsFiles(db, options.bucket, options.ownerKey);
  }

  /** Inserts the record once; a redelivered event gets the stored one back with `created: false`. */
  async insertOnce(record: R): Promise<{ record: R; created: boolean }> {
    try {
      await withTypedErrors(this.records, (records) => records.insertOne(record as OptionalUnlessRequiredId<R>));
      return { record, created: true };
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const stored = await this.records.findOne(filter({ _id: record._id }));
      if (!stored) throw error;
      return { record: stored as R, created: false };
    }
  }

  /** Applies an update and mirrors status and reasons into the files' GridFS metadata. */
  async update(id: string, update: UpdateFilter<R>): Promise<R> {
    const record = await this.records.findOneAndUpdate(filter({ _id: id }), update, { returnDocument: 'after' });
    if (!record) throw new Error(`${this.options.noun} ${id} vanished while being processed`);
    await this.files.setMetadata(id, this.options.mirroredMetadata(record as R));
    return record as R;
  }

  /** Moves a record from one status to another only if it is still in the first (a claim made at `at`). */
  async transition(
    tenantId: string,
    id: string,
    from: readonly R['status'][],
    to: R['status'],
    at: Date,
  ): Promise<R | null> {
    return this.findOneAndSet({ _id: id, tenantId, status: { $in: [...from] } }, { status: to, retryClaimedAt: at });
  }

  /** Records still in `status` under a retry claim made before `before`: retries that died. */
  async staleClaims(status: R['status'], before: Date, limit: number): Promise<R[]> {
    const found = await this.records
      .find(filter({ retryClaimedAt: { $lt: before }, status }))
      .limit(limit)
      .toArray();
    return found as R[];
  }

  /** Takes over a stale claim if nobody renewed it since it was read (`claimedAt`). */
  reclaim(record: R, at: Date): Promise<R | null> {
    return this.findOneAndSet(
      { _id: record._id, status: record.status, retryClaimedAt: record.retryClaimedAt },
      { retryClaimedAt: at },
    );
  }

  /** The department of a record: empty when it has none, undefined when the tenant has no such record. */
  async departmentOf(tenantId: string, id: string): Promise<string | undefined> {
    const found = await this.records.findOne(filter({ _id: id, tenantId }), { projection: { departmentId: 1 } });
    return found ? (found.departmentId ?? '') : undefined;
  }

  async get(tenantId: string, id: string): Promise<R | null> {
    return (await this.records.findOne(filter({ _id: id, tenantId }))) as R | null;
  }

  /** Newest first; `departments` limits the list to records of those departments (all when left out). */
  async list(
    tenantId: string,
    options: { offset: number; limit: number; unhandledOnly: boolean; departments?: readonly string[] },
  ): Promise<R[]> {
    const found = await this.records
      .find(
        filter({
          tenantId,
          ...(options.unhandledOnly ? { handledAt: null } : {}),
          ...(options.departments ? { departmentId: { $in: [...options.departments] } } : {}),
        }),
      )
      .sort({ receivedAt: -1, _id: 1 })
      .skip(options.offset)
      .limit(options.limit)
      .toArray();
    return found as R[];
  }

  markHandled(tenantId: string, id: string, by: string, at: Date): Promise<R | null> {
    return this.findOneAndSet({ _id: id, tenantId }, { handledAt: at, handledBy: by });
  }

  tenants(): Promise<string[]> {
    return this.records.distinct('tenantId');
  }

  async receivedBefore(tenantId: string, cutoff: Date, limit: number): Promise<R[]> {
    const found = await this.records
      .find(filter({ tenantId, receivedAt: { $lt: cutoff } }))
      .limit(limit)
      .toArray();
    return found as R[];
  }

  /**
   * Data protection: shortens the citizen fields that `due` picks in the tenant's records received
   * before `receivedBefore` (any time when left out), in the record and in its files' metadata.
   * Returns how many records changed; a field shortened already stays as it is, so it is idempotent.
   */
  async shortenNumbers(
    tenantId: string,
    receivedBefore: Date | undefined,
    due: (value: string) => boolean,
  ): Promise<number> {
    let changed = 0;
    const where = filter<R>({ tenantId, ...(receivedBefore ? { receivedAt: { $lt: receivedBefore } } : {}) });
    for await (const record of this.records.find(where)) {
      const set: Record<string, string> = {};
      for (const field of this.options.citizenFields) {
        const value = (record as Record<string, unknown>)[field];
        if (typeof value === 'string' && !isShortened(value) && due(value)) set[field] = shortenNumber(value);
      }
      if (Object.keys(set).length === 0) continue;
      // The files first: a crash in between leaves the record whole, and the next sweep finds it.
      await this.files.setMetadata(record._id, set);
      await this.records.updateOne(filter({ _id: record._id }), { $set: set } as UpdateFilter<R>);
      changed += 1;
    }
    return changed;
  }

  /** Deletes the files first, so a crash halfway leaves a record that the next sweep finds. */
  async delete(record: R): Promise<void> {
    for (const kind of this.options.fileKinds) await this.files.delete(inboxFileId(record._id, kind));
    await this.records.deleteOne(filter({ _id: record._id }));
  }

  private async findOneAndSet(where: Filter<InboxRecord>, set: Partial<InboxRecord>): Promise<R | null> {
    const record = await this.records.findOneAndUpdate(filter(where), { $set: set } as UpdateFilter<R>, {
      returnDocument: 'after',
    });
    return record as R | null;
  }
}

/** The driver cannot check a filter against a generic record type; these name only InboxRecord fields. */
function filter<R extends InboxRecord>(where: Filter<InboxRecord>): Filter<R> {
  return where as Filter<R>;
}
