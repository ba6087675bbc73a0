import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '@nats-io/obj';
import { VOICEMAIL_INBOX_BUCKET, VoicemailEvents } from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import type { Logger } from '@switchboard/service-kit';
import type { AriOps } from './ari-ops.js';
import { ariTime, type RecordingEvent } from './ari-types.js';
import type { CallTracker } from './call-tracker.js';
import type { CallRecord, LegRecord } from './calls.js';
import type { AdapterMetrics } from './metrics.js';
import { readWav } from './wav.js';

const { VoicemailOutcome } = callControlV1;
type Response = callControlV1.RecordVoicemailResponse;

/** Messages shorter than this are discarded: nobody leaves a message in less than a second. */
const MIN_MESSAGE_MS = 1_000;
/** How long past its time limit a recording may stay silent (events lost) before it is stopped and fetched. */
const WATCHDOG_GRACE_MS = 30_000;
/** After the caller left, how long RecordingFinished may take before the stored file is fetched anyway. */
const HANGUP_GRACE_MS = 5_000;

export interface RecordingOptions {
  departmentId: string;
  maxDurationSeconds: number;
  maxSilenceSeconds: number;
  beep: boolean;
  terminateOn: string;
}

/** How a recording ended, as far as the adapter heard. */
type Ending =
  | { kind: 'finished'; duration: number; talkingDuration?: number; at: Date }
  | { kind: 'failed'; cause: string }
  /** The caller left before it started: Asterisk drops the queued recording, nothing exists. */
  | { kind: 'not-started' }
  /** No RecordingFinished came (events lost): the stored file is the truth. */
  | { kind: 'unreported' };

interface Pending {
  readonly maxDurationSeconds: number;
  startedAt?: Date;
  watchdog?: NodeJS.Timeout;
  settle(ending: Ending): void;
}

/**
 * Records a caller's message with ARI (`POST /channels/{id}/record`) and hands it on: the WAV is
 * fetched from Asterisk, put into the `voicemail-inbox` object store and announced as
 * VoicemailReceived, and only then deleted in Asterisk. Nothing said (silence only, or shorter
 * than a second) is discarded and counted; a recording that failed, or a file that could not be
 * fetched or stored, is published with `error` — a message is never lost silently.
 */
export class VoicemailRecorder {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly deps: {
      ari: AriOps;
      tracker: CallTracker;
      inbox: ObjectStore;
      adapterId: string;
      metrics: AdapterMetrics;
      logger: Logger;
    },
  ) {}

  /** RecordingStarted, RecordingFinished, RecordingFailed of any channel; only ours matter. */
  onRecording(event: RecordingEvent): void {
    const pending = this.pending.get(event.recording.name);
    if (!pending) return;
    if (event.type === 'RecordingStarted') {
      pending.startedAt = ariTime(event.timestamp);
      // A recording that outlives its own limit lost its events: stop it, then the file decides.
      pending.watchdog = setTimeout(
        () => {
          void this.deps.ari
            .stopRecording(event.recording.name)
            .catch((error: unknown) =>
              this.deps.logger.warn({ err: error, name: event.recording.name }, 'could not stop a recording'),
            );
          pending.watchdog = setTimeout(() => pending.settle({ kind: 'unreported' }), HANGUP_GRACE_MS);
        },
        pending.maxDurationSeconds * 1000 + WATCHDOG_GRACE_MS,
      );
    } else if (event.type === 'RecordingFinished') {
      pending.settle({
        kind: 'finished',
        duration: event.recording.duration ?? 0,
        talkingDuration: event.recording.talking_duration,
        at: ariTime(event.timestamp),
      });
    } else {
      pending.settle({ kind: 'failed', cause: event.recording.cause ?? 'unknown cause' });
    }
  }

  /**
   * Records the caller (after whatever plays on the channel: Asterisk queues the recording behind
   * it) and resolves once the message was delivered, discarded or reported failed.
   */
  async record(call: CallRecord, caller: LegRecord, options: RecordingOptions): Promise<Response> {
    const name = `voicemail-${randomUUID()}`;
    const ending = this.expect(name, caller, options.maxDurationSeconds);
    try {
      await this.deps.ari.record(caller.channelId, {
        name,
        format: 'wav',
        maxDurationSeconds: options.maxDurationSeconds,
        maxSilenceSeconds: options.maxSilenceSeconds,
        beep: options.beep,
        terminateOn: options.terminateOn,
      });
    } catch (error) {
      this.forget(name);
      throw error;
    }
    const requested = new Date();
    const result = await ending;
    const startedAt = this.pending.get(name)?.startedAt ?? requested;
    this.forget(name);
    const message = { call, caller, name, options, startedAt };
    switch (result.kind) {
      case 'not-started':
        this.deps.metrics.voicemailsDiscarded.add(1, { reason: 'no_recording' });
        return { outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED, durationSeconds: 0, reason: 'no_recording' };
      case 'failed':
        return this.failed(message, 'recording_failed', `Asterisk could not record the message: ${result.cause}`);
      case 'finished':
        return this.deliver(message, result.duration, result.talkingDuration, result.at);
      case 'unreported':
        return this.deliver(message, undefined, undefined, new Date());
    }
  }

  /** Registered before the request: Asterisk's events may arrive before its answer. */
  private expect(name: string, caller: LegRecord, maxDurationSeconds: number): Promise<Ending> {
    return new Promise<Ending>((resolve) => {
      const pending: Pending = {
        maxDurationSeconds,
        settle: (ending) => {
          clearTimeout(pending.watchdog);
          pending.settle = () => undefined;
          resolve(ending);
        },
      };
      this.pending.set(name, pending);
      // The caller's leg ends after RecordingFinished (Asterisk sends it before StasisEnd).
      void caller.outcome.then(() => {
        if (!pending.startedAt) return pending.settle({ kind: 'not-started' });
        clearTimeout(pending.watchdog);
        pending.watchdog = setTimeout(() => pending.settle({ kind: 'unreported' }), HANGUP_GRACE_MS);
      });
    });
  }

  private forget(name: string): void {
    const pending = this.pending.get(name);
    if (pending) clearTimeout(pending.watchdog);
    this.pending.delete(name);
  }

  private async deliver(
    message: Message,
    reportedDuration: number | undefined,
    talkingDuration: number | undefined,
    endedAt: Date,
  ): Promise<Response> {
    const { call, name } = message;
    let file: Buffer;
    let audio: ReturnType<typeof readWav>;
    try {
      file = await this.deps.ari.storedRecordingFile(name);
      audio = readWav(file);
    } catch (error) {
      return this.failed(
        message,
        'fetch_failed',
        `recording ${name} could not be fetched from Asterisk: ${(error as Error).message}`,
      );
    }
    const durationSeconds = reportedDuration ?? Math.round(audio.durationMs / 1000);
    // Asterisk's talking_duration counts whole seconds of speech: 0 is less than a second of it.
    const discard = !audio.hasSound
      ? 'silence'
      : audio.durationMs < MIN_MESSAGE_MS || talkingDuration === 0
        ? 'too_short'
        : undefined;
    if (discard) {
      this.deps.metrics.voicemailsDiscarded.add(1, { reason: discard });
      this.deps.logger.info({ callId: call.callId, name, reason: discard }, 'voicemail discarded: nothing was said');
      await this.deleteInAsterisk(name);
      return { outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED, durationSeconds, reason: discard };
    }
    const objectName = `${call.tenantId}/${name}.wav`;
    try {
      await this.deps.inbox.putBlob({ name: objectName }, file);
    } catch (error) {
      // The file stays in Asterisk for an operator: the event says where it is.
      return this.failed(
        message,
        'store_failed',
        `recording ${name} stays in Asterisk: the voicemail inbox refused it: ${(error as Error).message}`,
      );
    }
    try {
      await this.publish(message, {
        durationSeconds,
        endedAt,
        audioUri: `nats-object://${VOICEMAIL_INBOX_BUCKET}/${objectName}`,
        audioBytes: file.length,
        error: '',
      });
    } catch (error) {
      this.deps.metrics.voicemailFailures.add(1, { reason: 'publish_failed' });
      return {
        outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_FAILED,
        durationSeconds,
        reason: `voicemail.received could not be published (the audio is in the inbox and in Asterisk): ${(error as Error).message}`,
      };
    }
    this.deps.metrics.voicemailsRecorded.add(1);
    await this.deleteInAsterisk(name);
    return { outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED, durationSeconds, reason: '' };
  }

  /** Reported as VoicemailReceived with `error` (and counted), so the department learns a caller tried. */
  private async failed(message: Message, reason: string, error: string): Promise<Response> {
    this.deps.metrics.voicemailFailures.add(1, { reason });
    this.deps.logger.error({ callId: message.call.callId, name: message.name, reason }, error);
    await this.publish(message, { durationSeconds: 0, endedAt: new Date(), audioUri: '', audioBytes: 0, error }).catch(
      () => this.deps.metrics.voicemailFailures.add(1, { reason: 'publish_failed' }),
    );
    return { outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_FAILED, durationSeconds: 0, reason: error };
  }

  private publish(
    message: Message,
    result: { durationSeconds: number; endedAt: Date; audioUri: string; audioBytes: number; error: string },
  ): Promise<void> {
    const { call, caller, options, startedAt } = message;
    return this.deps.tracker.publishConfirmed(call, VoicemailEvents.received, {
      callId: call.callId,
      adapterId: this.deps.adapterId,
      departmentId: options.departmentId,
      dialedNumber: call.dialedNumber,
      callerNumber: caller.from,
      durationSeconds: result.durationSeconds,
      error: result.error,
      startedAt,
      endedAt: result.endedAt,
      audioUri: result.audioUri,
      audioBytes: String(result.audioBytes),
    });
  }

  /** Delivered or discarded: Asterisk need not keep it. A failure leaves a file behind, logged and counted. */
  private async deleteInAsterisk(name: string): Promise<void> {
    try {
      await this.deps.ari.deleteStoredRecording(name);
    } catch (error) {
      this.deps.metrics.voicemailFailures.add(1, { reason: 'delete_failed' });
      this.deps.logger.warn({ err: error, name }, 'could not delete a handed-on recording in Asterisk');
    }
  }
}

interface Message {
  call: CallRecord;
  caller: LegRecord;
  name: string;
  options: RecordingOptions;
  startedAt: Date;
}
