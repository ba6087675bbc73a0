import type { IndexDeclaration } from '@switchboard/service-kit';
import { faxServiceV1 } from '@switchboard/proto';
import type { Db } from 'mongodb';
import { inboxFileId, inboxIndexes, InboxRecords, type InboxRecord } from './inbox-records.js';

const { VoicemailStatus } = faxServiceV1;

/** One voicemail: the inbox entry. Its id is the voicemail-received event id, so redelivery finds it. */
export interface VoicemailRecord extends InboxRecord {
  callId: string;
  adapterId: string;
  departmentId: string;
  /** The directory's name of the department when the mail was composed; the id until then. */
  departmentName: string;
  dialedNumber: string;
  callerNumber: string;
  durationSeconds: number;
  /** Why the recording failed, as the adapter reported it; empty when it was recorded. */
  recordingError: string;
  startedAt: Date | null;
  endedAt: Date | null;
  audioUri: string;
  status: faxServiceV1.VoicemailStatus;
  /** Set once the audio is in GridFS; stays null when none arrived (the mail then only names the caller). */
  audioFileId: string | null;
  audioBytes: number;
}

const INBOX = { collection: 'voicemails', bucket: 'voicemailaudio', ownerKey: 'voicemailId' };
const AUDIO = 'audio';

export const VOICEMAIL_STORE_INDEXES: readonly IndexDeclaration[] = inboxIndexes(INBOX, 'voicemail_id');

/** Statuses after which processing the voicemail-received event again does nothing. */
export const SETTLED_VOICEMAIL_STATUSES: ReadonlySet<faxServiceV1.VoicemailStatus> = new Set([
  VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
  VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX,
  VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED,
]);

export function audioFileName(voicemail: VoicemailRecord): string {
  return `voicemail-${voicemail.receivedAt.toISOString().slice(0, 10)}-${voicemail._id.slice(0, 8)}.wav`;
}

/** Voicemail records in MongoDB and their audio (WAV) in GridFS. */
export class VoicemailStore extends InboxRecords<VoicemailRecord> {
  constructor(db: Db) {
    super(db, {
      ...INBOX,
      noun: 'voicemail',
      fileKinds: [AUDIO],
      citizenFields: ['callerNumber'],
      mirroredMetadata: (voicemail) => ({
        status: faxServiceV1.voicemailStatusToJSON(voicemail.status),
        reasons: voicemail.reasons,
      }),
    });
  }

  /** Stores the audio in GridFS under a fixed id, so a redelivered event stores it once. */
  putAudio(voicemail: VoicemailRecord, bytes: Uint8Array): Promise<string> {
    const metadata = {
      tenantId: voicemail.tenantId,
      voicemailId: voicemail._id,
      callId: voicemail.callId,
      departmentId: voicemail.departmentId,
      dialedNumber: voicemail.dialedNumber,
      callerNumber: voicemail.callerNumber,
      durationSeconds: voicemail.durationSeconds,
      status: faxServiceV1.voicemailStatusToJSON(voicemail.status),
      reasons: voicemail.reasons,
    };
    return this.files.put(inboxFileId(voicemail._id, AUDIO), audioFileName(voicemail), metadata, bytes);
  }

  readAudio(fileId: string): Promise<Buffer> {
    return this.files.read(fileId);
  }
}
