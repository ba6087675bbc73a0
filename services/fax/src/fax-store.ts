import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import { faxServiceV1, faxV1 } from '@switchboard/proto';
import { GridFSBucket, type Collection, type Db, type ObjectId, type UpdateFilter } from 'mongodb';

const { FaxStatus } = faxServiceV1;

/** One received fax: the inbox entry. Its id is the fax-received event id, so redelivery finds it. */
export interface FaxRecord {
  _id: string;
  tenantId: string;
  callId: string;
  adapterId: string;
  dialedNumber: string;
  callerNumber: string;
  remoteStationId: string;
  pages: number;
  receptionResult: faxV1.FaxResult;
  receptionError: string;
  startedAt: Date | null;
  endedAt: Date | null;
  receivedAt: Date;
  documentUri: string;
  status: faxServiceV1.FaxStatus;
  reasons: string[];
  originalFileId: string | null;
  pdfFileId: string | null;
  departmentId: string;
  mailbox: string;
  viaFallback: boolean;
  deliveryAttempts: number;
  deliveredAt: Date | null;
  messageId: string;
  handledAt: Date | null;
  handledBy: string;
}

export type DocumentKind = 'original' | 'pdf';

const FAXES = 'faxes';
const BUCKET = 'faxdocs';

export const FAX_STORE_INDEXES: readonly IndexDeclaration[] = [
  { collection: FAXES, key: { tenantId: 1, receivedAt: -1 }, options: { name: 'tenant_received' } },
  { collection: `${BUCKET}.files`, key: { 'metadata.faxId': 1 }, options: { name: 'fax_id' } },
];

/** Statuses after which processing the fax-received event again does nothing. */
export const SETTLED_STATUSES: ReadonlySet<faxServiceV1.FaxStatus> = new Set([
  FaxStatus.FAX_STATUS_DELIVERED,
  FaxStatus.FAX_STATUS_NOT_CONVERTED,
  FaxStatus.FAX_STATUS_NO_DOCUMENT,
  FaxStatus.FAX_STATUS_NO_MAILBOX,
  FaxStatus.FAX_STATUS_DELIVERY_FAILED,
]);

export function documentFileId(faxId: string, kind: DocumentKind): string {
  return `${faxId}:${kind}`;
}

/** Fax records in MongoDB and their documents (original TIFF, PDF) in GridFS. */
export class FaxStore {
  private readonly faxes: Collection<FaxRecord>;
  private readonly files: Collection<{ _id: string; metadata?: Record<string, unknown> }>;
  private readonly chunks: Collection<{ files_id: string }>;
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    this.faxes = db.collection<FaxRecord>(FAXES);
    this.files = db.collection(`${BUCKET}.files`);
    this.chunks = db.collection(`${BUCKET}.chunks`);
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
  }

  /** Inserts the record once; a redelivered event gets the stored one back with `created: false`. */
  async recordReception(record: FaxRecord): Promise<{ fax: FaxRecord; created: boolean }> {
    try {
      await withTypedErrors(this.faxes, (faxes) => faxes.insertOne(record));
      return { fax: record, created: true };
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const stored = await this.faxes.findOne({ _id: record._id });
      if (!stored) throw error;
      return { fax: stored, created: false };
    }
  }

  /**
   * Stores a document in GridFS under a fixed id. A complete file (its `files` entry is written
   * last) is kept; chunks of an upload that a crash interrupted are removed and written again.
   */
  async putDocument(fax: FaxRecord, kind: DocumentKind, bytes: Uint8Array): Promise<string> {
    const id = documentFileId(fax._id, kind);
    if (await this.files.findOne({ _id: id })) return id;
    await this.chunks.deleteMany({ files_id: id });
    // GridFS takes any _id; the driver's types only name ObjectId. A fixed id makes the upload idempotent.
    const upload = this.bucket.openUploadStreamWithId(id as unknown as ObjectId, documentFileName(fax, kind), {
      metadata: { ...documentMetadata(fax), faxId: fax._id, kind },
    });
    await new Promise<void>((resolve, reject) => {
      upload.once('finish', () => resolve());
      upload.once('error', reject);
      upload.end(Buffer.from(bytes));
    });
    return id;
  }

  async readDocument(fileId: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.bucket.openDownloadStream(fileId as unknown as ObjectId)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async documentSize(fileId: string): Promise<number | undefined> {
    const file = await this.files.findOne({ _id: fileId });
    return (file as { length?: number } | null)?.length;
  }

  /** Applies an update and mirrors status and reasons into the documents' GridFS metadata. */
  async update(faxId: string, update: UpdateFilter<FaxRecord>): Promise<FaxRecord> {
    const fax = await this.faxes.findOneAndUpdate({ _id: faxId }, update, { returnDocument: 'after' });
    if (!fax) throw new Error(`fax ${faxId} vanished while being processed`);
    await this.files.updateMany(
      { 'metadata.faxId': faxId },
      {
        $set: {
          'metadata.status': faxServiceV1.faxStatusToJSON(fax.status),
          'metadata.reasons': fax.reasons,
          'metadata.pages': fax.pages,
        },
      },
    );
    return fax;
  }

  /** Moves a fax from one status to another only if it is still in the first (a claim). */
  async transition(
    tenantId: string,
    faxId: string,
    from: readonly faxServiceV1.FaxStatus[],
    to: faxServiceV1.FaxStatus,
  ): Promise<FaxRecord | null> {
    return this.faxes.findOneAndUpdate(
      { _id: faxId, tenantId, status: { $in: [...from] } },
      { $set: { status: to } },
      { returnDocument: 'after' },
    );
  }

  get(tenantId: string, faxId: string): Promise<FaxRecord | null> {
    return this.faxes.findOne({ _id: faxId, tenantId });
  }

  list(tenantId: string, options: { offset: number; limit: number; unhandledOnly: boolean }): Promise<FaxRecord[]> {
    return this.faxes
      .find({ tenantId, ...(options.unhandledOnly ? { handledAt: null } : {}) })
      .sort({ receivedAt: -1, _id: 1 })
      .skip(options.offset)
      .limit(options.limit)
      .toArray();
  }

  markHandled(tenantId: string, faxId: string, by: string, at: Date): Promise<FaxRecord | null> {
    return this.faxes.findOneAndUpdate(
      { _id: faxId, tenantId },
      { $set: { handledAt: at, handledBy: by } },
      { returnDocument: 'after' },
    );
  }

  tenants(): Promise<string[]> {
    return this.faxes.distinct('tenantId');
  }

  receivedBefore(tenantId: string, cutoff: Date, limit: number): Promise<FaxRecord[]> {
    return this.faxes
      .find({ tenantId, receivedAt: { $lt: cutoff } })
      .limit(limit)
      .toArray();
  }

  /** Deletes the documents first, so a crash halfway leaves a record that the next sweep finds. */
  async delete(fax: FaxRecord): Promise<void> {
    for (const kind of ['original', 'pdf'] as const) {
      const id = documentFileId(fax._id, kind);
      await this.chunks.deleteMany({ files_id: id });
      await this.files.deleteOne({ _id: id });
    }
    await this.faxes.deleteOne({ _id: fax._id });
  }
}

function documentMetadata(fax: FaxRecord): Record<string, unknown> {
  return {
    tenantId: fax.tenantId,
    callId: fax.callId,
    dialedNumber: fax.dialedNumber,
    callerNumber: fax.callerNumber,
    remoteStationId: fax.remoteStationId,
    pages: fax.pages,
    receptionResult: faxV1.faxResultToJSON(fax.receptionResult),
    status: faxServiceV1.faxStatusToJSON(fax.status),
    reasons: fax.reasons,
  };
}

export function documentFileName(fax: FaxRecord, kind: DocumentKind): string {
  const day = fax.receivedAt.toISOString().slice(0, 10);
  return `fax-${day}-${fax._id.slice(0, 8)}.${kind === 'pdf' ? 'pdf' : 'tif'}`;
}
