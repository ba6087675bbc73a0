import { GridFSBucket, type Db } from 'mongodb';
import { renderInvoicePdf } from './invoice-pdf.js';
import { InvoiceStore, invoiceNumber, type InvoiceRecord } from './invoices.js';
import { berlinDate } from './months.js';
import { renderXRechnung, type PrecedingInvoice } from './xrechnung.js';

export type DocumentKind = 'pdf' | 'xrechnung';

export interface InvoiceDocument {
  fileName: string;
  contentType: string;
  content: Buffer;
}

const BUCKET = 'invoice_documents';

function describe(invoice: InvoiceRecord, kind: DocumentKind): { fileName: string; contentType: string } {
  return kind === 'pdf'
    ? { fileName: `${invoice.invoiceNumber}.pdf`, contentType: 'application/pdf' }
    : { fileName: `${invoice.invoiceNumber}.xml`, contentType: 'application/xml' };
}

/** Invoice documents in GridFS, rendered once from the stored invoice and then served as stored. */
export class DocumentStore {
  private readonly bucket: GridFSBucket;
  private readonly invoices: InvoiceStore;

  constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
    this.invoices = new InvoiceStore(db);
  }

  /** The invoices of the months that correction lines correct, with their issue dates. */
  private async preceding(invoice: InvoiceRecord): Promise<PrecedingInvoice[]> {
    const months = [...new Set(invoice.lines.map((line) => line.correctedMonth).filter(Boolean))].sort();
    return Promise.all(
      months.map(async (month) => {
        const issued = await this.invoices.invoice(invoice.tenantId, month);
        return {
          month,
          invoiceNumber: issued?.invoiceNumber ?? invoiceNumber(invoice.tenantId, month),
          ...(issued ? { issueDate: berlinDate(issued.issuedAt) } : {}),
        };
      }),
    );
  }

  private async render(invoice: InvoiceRecord, kind: DocumentKind): Promise<Buffer> {
    const preceding = await this.preceding(invoice);
    return kind === 'pdf'
      ? renderInvoicePdf(invoice, preceding)
      : Buffer.from(renderXRechnung(invoice, preceding), 'utf8');
  }

  async get(invoice: InvoiceRecord, kind: DocumentKind): Promise<InvoiceDocument> {
    const { fileName, contentType } = describe(invoice, kind);
    const stored = await this.read(invoice, fileName);
    if (stored) return { fileName, contentType, content: stored };
    const content = await this.render(invoice, kind);
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStream(fileName, {
        metadata: { tenantId: invoice.tenantId, month: invoice.month, kind, contentType },
      });
      upload.once('finish', () => resolve());
      upload.once('error', reject);
      upload.end(content);
    });
    // Two replicas may have rendered at once (byte for byte the same: the PDF's dates and id come
    // from the invoice); everyone serves the first file stored.
    return { fileName, contentType, content: (await this.read(invoice, fileName)) ?? content };
  }

  private async read(invoice: InvoiceRecord, fileName: string): Promise<Buffer | undefined> {
    const [file] = await this.bucket
      .find({ filename: fileName, 'metadata.tenantId': invoice.tenantId })
      .sort({ uploadDate: 1, _id: 1 })
      .limit(1)
      .toArray();
    if (!file) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of this.bucket.openDownloadStream(file._id)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}
