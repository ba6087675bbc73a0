import { FAX_INBOX_BUCKET } from '@switchboard/events';
import { faxServiceV1, faxV1 } from '@switchboard/proto';
import { ConversionError, convertTiffToPdf } from './convert.js';
import { composeFaxMail } from './fax-mail.js';
import { SETTLED_STATUSES, type FaxRecord, type FaxStore } from './fax-store.js';
import { errorMessage, InboxDelivery, type IntakeDependencies } from './inbox-delivery.js';
import { parseDocumentUri } from './inbox-object.js';
import { UNDELIVERED } from './inbox-records.js';
import type { Resolution } from './mailbox-resolver.js';
import type { FailureReason, FaxMetrics } from './metrics.js';

const { FaxStatus } = faxServiceV1;
const { FaxResult } = faxV1;

export type FaxIntakeDependencies = IntakeDependencies<FaxStore, FaxMetrics>;

/**
 * Conversions of one fax that may begin without finishing: a document that brings the service
 * down (or hangs the tools) every time ends NOT_CONVERTED after this many, instead of in a loop.
 */
export const MAX_CONVERSION_STARTS = 3;

/**
 * Takes a received fax from the event to the department's mailbox in steps that each leave a
 * durable record: store the original, convert, resolve the mailbox, mail the PDF. Every step
 * checks what a previous delivery of the same event already did, so redelivery repeats nothing.
 */
export class FaxIntake {
  private readonly delivery: InboxDelivery<FaxRecord>;

  constructor(private readonly deps: FaxIntakeDependencies) {
    this.delivery = new InboxDelivery(deps, {
      noun: 'fax',
      statuses: {
        pending: FaxStatus.FAX_STATUS_DELIVERY_PENDING,
        noMailbox: FaxStatus.FAX_STATUS_NO_MAILBOX,
        delivered: FaxStatus.FAX_STATUS_DELIVERED,
        deliveryFailed: FaxStatus.FAX_STATUS_DELIVERY_FAILED,
      },
      logFields: (fax) => ({ faxId: fax._id, tenantId: fax.tenantId }),
      deliveryFailed: (fax, detail) => this.failure(fax, 'delivery', detail),
    });
  }

  /** `lastAttempt`: the consumer will not deliver this event again, so a failure is final. */
  async process(event: faxV1.FaxReceived, options: { lastAttempt: boolean }): Promise<FaxRecord> {
    let fax = await this.record(event);
    if (SETTLED_STATUSES.has(fax.status)) return fax;
    if (!fax.originalFileId) fax = await this.storeOriginal(fax);
    if (fax.status === FaxStatus.FAX_STATUS_NO_DOCUMENT) return fax;
    await this.removeInboxCopy(fax);
    if (!fax.pdfFileId) fax = await this.convert(fax);
    if (fax.status === FaxStatus.FAX_STATUS_NOT_CONVERTED) return fax;
    return this.deliver(fax, options);
  }

  /** Delivers again a fax that had no mailbox or whose delivery gave up, once (claimed first). */
  retryDelivery(tenantId: string, faxId: string): Promise<FaxRecord | null> {
    return this.delivery.retry(tenantId, faxId, (fax, options) => this.deliver(fax, options));
  }

  /** Finishes retries by API that a stopped process left pending (claimed over `leaseMs` ago). */
  resumeStaleRetries(leaseMs: number): Promise<number> {
    return this.delivery.resumeStaleRetries(leaseMs, (fax, options) => this.deliver(fax, options));
  }

  private async record(event: faxV1.FaxReceived): Promise<FaxRecord> {
    const meta = event.meta!;
    const failed = event.result === FaxResult.FAX_RESULT_FAILED;
    const { record: fax, created } = await this.deps.store.insertOnce({
      _id: meta.eventId,
      tenantId: meta.tenantId,
      callId: event.callId,
      adapterId: event.adapterId,
      dialedNumber: event.dialedNumber,
      callerNumber: event.callerNumber,
      remoteStationId: event.remoteStationId,
      pages: event.pages,
      receptionResult: event.result,
      receptionError: event.error,
      startedAt: event.startedAt ?? null,
      endedAt: event.endedAt ?? null,
      receivedAt: event.endedAt ?? meta.occurredAt ?? new Date(),
      documentUri: event.documentUri,
      status: FaxStatus.FAX_STATUS_RECEIVED,
      reasons: failed ? [`reception failed: ${event.error || 'no reason given'}`] : [],
      originalFileId: null,
      pdfFileId: null,
      departmentId: '',
      conversionStarts: 0,
      ...UNDELIVERED,
    });
    if (created) {
      this.deps.metrics.received.add(1, { result: failed ? 'failed' : 'success' });
      if (failed) this.failure(fax, 'reception', fax.reasons[0] ?? 'reception failed');
      this.deps.logger.info({ faxId: fax._id, tenantId: fax.tenantId, pages: fax.pages, failed }, 'fax received');
    }
    return fax;
  }

  private failure(fax: FaxRecord, reason: FailureReason, detail: string): void {
    this.deps.metrics.failures.add(1, { reason });
    this.deps.logger.warn({ faxId: fax._id, tenantId: fax.tenantId, reason, detail }, 'fax needs attention');
  }

  private async settle(fax: FaxRecord, status: faxServiceV1.FaxStatus, reason: FailureReason, detail: string) {
    this.failure(fax, reason, detail);
    return this.deps.store.update(fax._id, { $set: { status }, $push: { reasons: detail } });
  }

  private async storeOriginal(fax: FaxRecord): Promise<FaxRecord> {
    if (!fax.documentUri) {
      return this.settle(fax, FaxStatus.FAX_STATUS_NO_DOCUMENT, 'no_document', 'no document was received');
    }
    const location = parseDocumentUri(fax.documentUri);
    if (!location || location.bucket !== FAX_INBOX_BUCKET) {
      return this.settle(
        fax,
        FaxStatus.FAX_STATUS_NO_DOCUMENT,
        'no_document',
        `document location "${fax.documentUri}" is not in the ${FAX_INBOX_BUCKET} object store`,
      );
    }
    const tiff = await this.deps.inbox.read(location.name);
    if (!tiff) {
      return this.settle(
        fax,
        FaxStatus.FAX_STATUS_NO_DOCUMENT,
        'no_document',
        `document ${fax.documentUri} is not in the object store`,
      );
    }
    const fileId = await this.deps.store.putDocument(fax, 'original', tiff);
    return this.deps.store.update(fax._id, { $set: { originalFileId: fileId } });
  }

  /**
   * Removes the adapter's copy once ours is in GridFS, so retention governs the only copy. It
   * runs on every delivery until the fax settles: removing a removed object is harmless, and a
   * crash right after storing then leaves no copy behind.
   */
  private async removeInboxCopy(fax: FaxRecord): Promise<void> {
    const location = parseDocumentUri(fax.documentUri);
    if (location) await this.deps.inbox.remove(location.name);
  }

  private async convert(fax: FaxRecord): Promise<FaxRecord> {
    const starts = fax.conversionStarts ?? 0;
    if (starts >= MAX_CONVERSION_STARTS) {
      return this.settle(
        fax,
        FaxStatus.FAX_STATUS_NOT_CONVERTED,
        'conversion',
        `not converted: ${starts} conversions began and none finished (the service stopped during each, or the tools could not run)`,
      );
    }
    // Counted before the work: a crash during it leaves the count behind for the next delivery.
    await this.deps.store.update(fax._id, { $inc: { conversionStarts: 1 } });
    const tiff = await this.deps.store.readDocument(fax.originalFileId!);
    let converted;
    try {
      converted = await convertTiffToPdf(tiff);
    } catch (error) {
      if (!(error instanceof ConversionError)) {
        // The machine's fault, not the document's: retried by redelivery, with the reason kept.
        await this.deps.store.update(fax._id, {
          $push: { reasons: `conversion ${starts + 1} failed: ${errorMessage(error)}` },
        });
        throw error;
      }
      return this.settle(fax, FaxStatus.FAX_STATUS_NOT_CONVERTED, 'conversion', `not converted: ${error.message}`);
    }
    const withPages = await this.deps.store.update(fax._id, { $set: { pages: converted.pages } });
    const fileId = await this.deps.store.putDocument(withPages, 'pdf', converted.pdf);
    const set = { pdfFileId: fileId, status: FaxStatus.FAX_STATUS_DELIVERY_PENDING };
    if (converted.decodeWarnings === 0) return this.deps.store.update(fax._id, { $set: set });
    // Noisy lines are normal on fax; the pages are complete, so this is a note, not a failure.
    const note = `${converted.decodeWarnings} damaged lines were decoded around`;
    return this.deps.store.update(fax._id, { $set: set, $push: { reasons: note } });
  }

  private async deliver(fax: FaxRecord, { lastAttempt }: { lastAttempt: boolean }): Promise<FaxRecord> {
    let resolution: Resolution;
    try {
      resolution = await this.deps.mailboxes.resolve(fax.tenantId, fax.dialedNumber);
    } catch (error) {
      // The directory could not be asked: never guess (the fallback is for numbers it routes nowhere).
      const detail = `fax route not resolved: ${errorMessage(error)}`;
      return this.delivery.deferOrFail(fax, detail, error, { lastAttempt });
    }
    const { target, unrouted } = resolution;
    if (!target) {
      return this.settle(
        fax,
        FaxStatus.FAX_STATUS_NO_MAILBOX,
        'no_mailbox',
        `${unrouted} and there is no fallback mailbox: kept in the inbox`,
      );
    }
    if (target.viaFallback && !fax.viaFallback) {
      this.deps.metrics.unrouted.add(1);
      this.deps.logger.warn(
        { faxId: fax._id, tenantId: fax.tenantId, dialedNumber: fax.dialedNumber, reason: unrouted },
        'fax the directory routes to no mailbox goes to the fallback mailbox',
      );
    }
    const routed = await this.deps.store.update(fax._id, {
      $set: { mailbox: target.mailbox, departmentId: target.departmentId, viaFallback: target.viaFallback },
    });
    const pdf = await this.deps.store.readDocument(routed.pdfFileId!);
    const mail = composeFaxMail(routed, pdf, this.deps.mailFrom, target.mailbox);
    return this.delivery.send(routed, mail, { lastAttempt });
  }
}
