import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import { faxServiceV1, faxV1 } from '@switchboard/proto';
import type { Collection, Db, UpdateFilter } from 'mongodb';
import { GridFsFiles } from './gridfs-files.js';

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
  private readonly documents: GridFsFiles;

  constructor(db: Db) {
    this.faxes = db.collection<FaxRecord>(FAXES);
    this.documents = new GridFsFiles(db, BUCKET, 'faxId');
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

  /** Stores a document in GridFS under a fixed id, so a redelivered event stores it once. */
  putDocument(fax: FaxRecord, kind: DocumentKind, bytes: Uint8Array): Promise<string> {
    const metadata = { ...documentMetadata(fax), faxId: fax._id, kind };
    return this.documents.put(documentFileId(fax._id, kind), documentFileName(fax, kind), metadata, bytes);
  }

  readDocument(fileId: string): Promise<Buffer> {
    return this.documents.read(fileId);
  }

  /** Applies an update and mirrors status and reasons into the documents' GridFS metadata. */
  async update(faxId: string, update: UpdateFilter<FaxRecord>): Promise<FaxRecord> {
    const fax = await this.faxes.findOneAndUpdate({ _id: faxId }, update, { returnDocument: 'after' });
    if (!fax) throw new Error(`fax ${faxId} vanished while being processed`);
    await this.documents.setMetadata(faxId, {
      status: faxServiceV1.faxStatusToJSON(fax.status),
      reasons: fax.reasons,
      pages: fax.pages,
    });
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
    for (const kind of ['original', 'pdf'] as const) await this.documents.delete(documentFileId(fax._id, kind));
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
