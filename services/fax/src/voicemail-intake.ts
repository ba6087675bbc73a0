import { VOICEMAIL_INBOX_BUCKET } from '@switchboard/events';
import type { Logger } from '@switchboard/service-kit';
import { faxServiceV1, type faxV1 } from '@switchboard/proto';
import { DeliveryDeferredError, errorMessage } from './fax-intake.js';
import type { Mailer } from './fax-mail.js';
import { parseDocumentUri, type ObjectInbox } from './inbox-object.js';
import type { MailboxResolver } from './mailbox-resolver.js';
import type { VoicemailFailureReason, VoicemailMetrics } from './metrics.js';
import { composeVoicemailMail } from './voicemail-mail.js';
import { SETTLED_VOICEMAIL_STATUSES, type VoicemailRecord, type VoicemailStore } from './voicemail-store.js';

const { VoicemailStatus } = faxServiceV1;

export interface VoicemailIntakeDependencies {
  store: VoicemailStore;
  mailboxes: MailboxResolver;
  inbox: ObjectInbox;
  mailer: Mailer;
  metrics: VoicemailMetrics;
  logger: Logger;
  mailFrom: string;
}

/**
 * Takes a recorded voicemail from the event to the department's mailbox in steps that each leave
 * a durable record: store the audio, resolve the mailbox, mail it. Every step checks what a
 * previous delivery of the same event already did, so redelivery repeats nothing.
 */
export class VoicemailIntake {
  constructor(private readonly deps: VoicemailIntakeDependencies) {}

  /** `lastAttempt`: the consumer will not deliver this event again, so a failure is final. */
  async process(event: faxV1.VoicemailReceived, options: { lastAttempt: boolean }): Promise<VoicemailRecord> {
    let voicemail = await this.record(event);
    if (SETTLED_VOICEMAIL_STATUSES.has(voicemail.status)) return voicemail;
    if (voicemail.status === VoicemailStatus.VOICEMAIL_STATUS_RECEIVED) voicemail = await this.storeAudio(voicemail);
    await this.removeInboxCopy(voicemail);
    return this.deliver(voicemail, options);
  }

  /** Delivers again a voicemail that had no mailbox or whose delivery gave up, once (claimed first). */
  async retryDelivery(tenantId: string, voicemailId: string): Promise<VoicemailRecord | null> {
    const claimed = await this.deps.store.transition(
      tenantId,
      voicemailId,
      [VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX, VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED],
      VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_PENDING,
    );
    if (!claimed) return null;
    return this.deliver(claimed, { lastAttempt: true });
  }

  private async record(event: faxV1.VoicemailReceived): Promise<VoicemailRecord> {
    const meta = event.meta!;
    const failed = event.error !== '';
    const { voicemail, created } = await this.deps.store.record({
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
      mailbox: '',
      viaFallback: false,
      deliveryAttempts: 0,
      deliveredAt: null,
      messageId: '',
      handledAt: null,
      handledBy: '',
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
      return this.deferOrFail(voicemail, detail, error, { lastAttempt });
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
    try {
      await this.deps.mailer.send(mail);
    } catch (error) {
      this.deps.metrics.deliveryAttempts.add(1, { outcome: 'failed' });
      const detail = `delivery to ${target.mailbox} failed: ${errorMessage(error)}`;
      return this.deferOrFail(routed, detail, error, { lastAttempt, mailAttempted: true });
    }
    this.deps.metrics.deliveryAttempts.add(1, { outcome: 'sent' });
    this.deps.logger.info(
      { voicemailId: voicemail._id, tenantId: voicemail.tenantId, mailbox: target.mailbox },
      'voicemail delivered',
    );
    return this.deps.store.update(voicemail._id, {
      $set: {
        status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
        deliveredAt: new Date(),
        messageId: mail.messageId,
      },
      $inc: { deliveryAttempts: 1 },
    });
  }

  /** A failed step is retried by redelivery (with back-off); on the last attempt it becomes DELIVERY_FAILED. */
  private async deferOrFail(
    voicemail: VoicemailRecord,
    detail: string,
    cause: unknown,
    { lastAttempt, mailAttempted = false }: { lastAttempt: boolean; mailAttempted?: boolean },
  ): Promise<VoicemailRecord> {
    const attempts = { deliveryAttempts: mailAttempted ? 1 : 0 };
    if (lastAttempt) {
      this.failure(voicemail, 'delivery', detail);
      return this.deps.store.update(voicemail._id, {
        $set: { status: VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED },
        $inc: attempts,
        $push: { reasons: detail },
      });
    }
    await this.deps.store.update(voicemail._id, { $inc: attempts, $push: { reasons: detail } });
    throw new DeliveryDeferredError(detail, { cause });
  }
}
