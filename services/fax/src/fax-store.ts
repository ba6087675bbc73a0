import type { IndexDeclaration } from '@switchboard/service-kit';
import { faxServiceV1, faxV1 } from '@switchboard/proto';
import type { Db } from 'mongodb';
import { inboxFileId, inboxIndexes, InboxRecords, type InboxRecord } from './inbox-records.js';

const { FaxStatus } = faxServiceV1;

/** One received fax: the inbox entry. Its id is the fax-received event id, so redelivery finds it. */
export interface FaxRecord extends InboxRecord {
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
  documentUri: string;
  status: faxServiceV1.FaxStatus;
  originalFileId: string | null;
  pdfFileId: string | null;
  /**
   * Conversions begun; only the last one ends in a PDF or a refused document, the others died
   * with their process or could not run a tool. Missing on faxes stored before it was counted.
   */
  conversionStarts?: number;
}

export type DocumentKind = 'original' | 'pdf';

const INBOX = { collection: 'faxes', bucket: 'faxdocs', ownerKey: 'faxId' };

export const FAX_STORE_INDEXES: readonly IndexDeclaration[] = inboxIndexes(INBOX, 'fax_id');

/** Statuses after which processing the fax-received event again does nothing. */
export const SETTLED_STATUSES: ReadonlySet<faxServiceV1.FaxStatus> = new Set([
  FaxStatus.FAX_STATUS_DELIVERED,
  FaxStatus.FAX_STATUS_NOT_CONVERTED,
  FaxStatus.FAX_STATUS_NO_DOCUMENT,
  FaxStatus.FAX_STATUS_NO_MAILBOX,
  FaxStatus.FAX_STATUS_DELIVERY_FAILED,
]);

/** Fax records in MongoDB and their documents (original TIFF, PDF) in GridFS. */
export class FaxStore extends InboxRecords<FaxRecord> {
  constructor(db: Db) {
    super(db, {
      ...INBOX,
      noun: 'fax',
      fileKinds: ['original', 'pdf'] satisfies DocumentKind[],
      // The sending station's id is usually its number too.
      citizenFields: ['callerNumber', 'remoteStationId'],
      mirroredMetadata: (fax) => ({
        status: faxServiceV1.faxStatusToJSON(fax.status),
        reasons: fax.reasons,
        pages: fax.pages,
      }),
    });
  }

  /** Stores a document in GridFS under a fixed id, so a redelivered event stores it once. */
  putDocument(fax: FaxRecord, kind: DocumentKind, bytes: Uint8Array): Promise<string> {
    const metadata = { ...documentMetadata(fax), faxId: fax._id, kind };
    return this.files.put(inboxFileId(fax._id, kind), documentFileName(fax, kind), metadata, bytes);
  }

  readDocument(fileId: string): Promise<Buffer> {
    return this.files.read(fileId);
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
