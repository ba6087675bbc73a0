import { VOICEMAIL_INBOX_BUCKET } from '@switchboard/events';
import { faxServiceV1, type faxV1 } from '@switchboard/proto';
import { errorMessage, InboxDelivery, type IntakeDependencies } from './inbox-delivery.js';
import { parseDocumentUri } from './inbox-object.js';
import { UNDELIVERED } from './inbox-records.js';
import type { VoicemailFailureReason, VoicemailMetrics } from './metrics.js';
import { composeVoicemailMail } from './voicemail-mail.js';
import { SETTLED_VOICEMAIL_STATUSES, type VoicemailRecord, type VoicemailStore } from './voicemail-store.js';

const { VoicemailStatus } = faxServiceV1;

export type VoicemailIntakeDependencies = IntakeDependencies<VoicemailStore, VoicemailMetrics>;

/**
 * Takes a recorded voicemail from the event to the department's mailbox in steps that each leave
 * a durable record: store the audio, resolve the mailbox, mail it. Every step checks what a
 * previous delivery of the same event already did, so redelivery repeats nothing.
 */
export class VoicemailIntake {
  private readonly delivery: InboxDelivery<VoicemailRecord>;

  constructor(private readonly deps: VoicemailIntakeDependencies) {
    this.delivery = new InboxDelivery(deps, {
      noun: 'voicemail',
      statuses: {
        pending: VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_PENDING,
        noMailbox: VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX,
        delivered: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
        deliveryFailed: VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED,
      },
      logFields: (voicemail) => ({ voicemailId: voicemail._id, tenantId: voicemail.tenantId }),
      deliveryFailed: (voicemail, detail) => this.failure(voicemail, 'delivery', detail),
    });
  }

  /** `lastAttempt`: the consumer will not deliver this event again, so a failure is final. */
  async process(event: faxV1.VoicemailReceived, options: { lastAttempt: boolean }): Promise<VoicemailRecord> {
    let voicemail = await this.record(event);
    if (SETTLED_VOICEMAIL_STATUSES.has(voicemail.status)) return voicemail;
    if (voicemail.status === VoicemailStatus.VOICEMAIL_STATUS_RECEIVED) voicemail = await this.storeAudio(voicemail);
    await this.removeInboxCopy(voicemail);
    return this.deliver(voicemail, options);
  }

  /** Delivers again a voicemail that had no mailbox or whose delivery gave up, once (claimed first). */
  retryDelivery(tenantId: string, voicemailId: string): Promise<VoicemailRecord | null> {
    return this.delivery.retry(tenantId, voicemailId, (voicemail, options) => this.deliver(voicemail, options));
  }

  /** Finishes retries by API that a stopped process left pending (claimed over `leaseMs` ago). */
  resumeStaleRetries(leaseMs: number): Promise<number> {
    return this.delivery.resumeStaleRetries(leaseMs, (voicemail, options) => this.deliver(voicemail, options));
  }

  private async record(event: faxV1.VoicemailReceived): Promise<VoicemailRecord> {
    const meta = event.meta!;
    const failed = event.error !== '';
    const { record: voicemail, created } = await this.deps.store.insertOnce({
      _id: meta.eventId,
      tenantId: meta.tenantId,
      callId: event.callId,
      adapterId: event.adapterId,
      departmentId: event.departmentId,
      departmentName: event.departmentId,
      dialedNumber: event.dialedNumber,
      callerNumber: event.callerNumber,
      durationSeconds: event.durationSeconds,
      recordingError: event.error,
      startedAt: event.startedAt ?? null,
      endedAt: event.endedAt ?? null,
      receivedAt: event.endedAt ?? meta.occurredAt ?? new Date(),
      audioUri: event.audioUri,
      status: VoicemailStatus.VOICEMAIL_STATUS_RECEIVED,
      reasons: failed ? [`recording failed: ${event.error}`] : [],
      audioFileId: null,
      audioBytes: 0,
      ...UNDELIVERED,
    });
    if (created) {
      // A failed recording is counted in voicemail.failures by the adapter, where it happened;
      // counting it there again would double every such alert.
      this.deps.metrics.received.add(1, { result: failed ? 'failed' : 'success' });
      const fields = {
        voicemailId: voicemail._id,
        tenantId: voicemail.tenantId,
        departmentId: voicemail.departmentId,
        durationSeconds: voicemail.durationSeconds,
      };
      if (failed) this.deps.logger.warn({ ...fields, recordingError: event.error }, 'voicemail recording failed');
      else this.deps.logger.info(fields, 'voicemail received');
    }
    return voicemail;
  }

  private failure(voicemail: VoicemailRecord, reason: VoicemailFailureReason, detail: string): void {
    this.deps.metrics.failures.add(1, { reason });
    this.deps.logger.warn(
      { voicemailId: voicemail._id, tenantId: voicemail.tenantId, reason, detail },
      'voicemail needs attention',
    );
  }

  /**
   * Copies the audio into GridFS and moves the voicemail to DELIVERY_PENDING. Audio that is not
   * there is recorded as a reason, and the voicemail is still delivered (naming the caller).
   */
  private async storeAudio(voicemail: VoicemailRecord): Promise<VoicemailRecord> {
    const pending = { status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_PENDING };
    const missing = (detail: string) => {
      // The adapter counted a failed recording; audio missing from a recorded message is a new failure.
      if (!voicemail.recordingError) this.failure(voicemail, 'no_audio', detail);
      return this.deps.store.update(voicemail._id, { $set: pending, $push: { reasons: detail } });
    };
    if (!voicemail.audioUri) return missing('no audio was received');
    const location = parseDocumentUri(voicemail.audioUri);
    if (!location || location.bucket !== VOICEMAIL_INBOX_BUCKET) {
      return missing(`audio location "${voicemail.audioUri}" is not in the ${VOICEMAIL_INBOX_BUCKET} object store`);
    }
    const audio = await this.deps.inbox.read(location.name);
    if (!audio || audio.length === 0) return missing(`audio ${voicemail.audioUri} is not in the object store`);
    const fileId = await this.deps.store.putAudio(voicemail, audio);
    return this.deps.store.update(voicemail._id, {
      $set: { ...pending, audioFileId: fileId, audioBytes: audio.length },
    });
  }

  /**
   * Removes the adapter's copy once ours is in GridFS, so retention governs the only copy. It runs
   * on every delivery until the voicemail settles: removing a removed object is harmless.
   */
  private async removeInboxCopy(voicemail: VoicemailRecord): Promise<void> {
    const location = parseDocumentUri(voicemail.audioUri);
    if (location?.bucket === VOICEMAIL_INBOX_BUCKET) await this.deps.inbox.remove(location.name);
  }

  private async deliver(
    voicemail: VoicemailRecord,
    { lastAttempt }: { lastAttempt: boolean },
  ): Promise<VoicemailRecord> {
    let resolution;
    try {
      resolution = await this.deps.mailboxes.resolveDepartment(voicemail.tenantId, voicemail.departmentId);
    } catch (error) {
      // The directory could not be asked: never guess (the fallback is for departments it gives no mailbox).
      const detail = `mailbox not resolved: ${errorMessage(error)}`;
      return this.delivery.deferOrFail(voicemail, detail, error, { lastAttempt });
    }
    const { target, unrouted, departmentName } = resolution;
    if (!target) {
      const detail = `${unrouted} and there is no fallback mailbox: kept in the inbox`;
      this.failure(voicemail, 'no_mailbox', detail);
      return this.deps.store.update(voicemail._id, {
        $set: { status: VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX, departmentName },
        $push: { reasons: detail },
      });
    }
    if (target.viaFallback && !voicemail.viaFallback) {
      this.deps.metrics.unrouted.add(1);
      this.deps.logger.warn(
        { voicemailId: voicemail._id, tenantId: voicemail.tenantId, reason: unrouted },
        'voicemail the directory gives no mailbox goes to the fallback mailbox',
      );
    }
    const routed = await this.deps.store.update(voicemail._id, {
      $set: { mailbox: target.mailbox, viaFallback: target.viaFallback, departmentName },
    });
    const audio = routed.audioFileId ? await this.deps.store.readAudio(routed.audioFileId) : null;
    const mail = composeVoicemailMail(routed, audio, this.deps.mailFrom, target.mailbox);
    return this.delivery.send(routed, mail, { lastAttempt });
  }
}
