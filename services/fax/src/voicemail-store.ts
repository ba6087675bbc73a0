import { DuplicateKeyError, withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import { faxServiceV1 } from '@switchboard/proto';
import type { Collection, Db, UpdateFilter } from 'mongodb';
import { GridFsFiles } from './gridfs-files.js';

const { VoicemailStatus } = faxServiceV1;

/** One voicemail: the inbox entry. Its id is the voicemail-received event id, so redelivery finds it. */
export interface VoicemailRecord {
  _id: string;
  tenantId: string;
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
  receivedAt: Date;
  audioUri: string;
  status: faxServiceV1.VoicemailStatus;
  reasons: string[];
  /** Set once the audio is in GridFS; stays null when none arrived (the mail then only names the caller). */
  audioFileId: string | null;
  audioBytes: number;
  mailbox: string;
  viaFallback: boolean;
  deliveryAttempts: number;
  deliveredAt: Date | null;
  messageId: string;
  handledAt: Date | null;
  handledBy: string;
}

const VOICEMAILS = 'voicemails';
const BUCKET = 'voicemailaudio';

export const VOICEMAIL_STORE_INDEXES: readonly IndexDeclaration[] = [
  { collection: VOICEMAILS, key: { tenantId: 1, receivedAt: -1 }, options: { name: 'tenant_received' } },
  { collection: `${BUCKET}.files`, key: { 'metadata.voicemailId': 1 }, options: { name: 'voicemail_id' } },
];

/** Statuses after which processing the voicemail-received event again does nothing. */
export const SETTLED_VOICEMAIL_STATUSES: ReadonlySet<faxServiceV1.VoicemailStatus> = new Set([
  VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
  VoicemailStatus.VOICEMAIL_STATUS_NO_MAILBOX,
  VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_FAILED,
]);

function audioFileId(voicemailId: string): string {
  return `${voicemailId}:audio`;
}

export function audioFileName(voicemail: VoicemailRecord): string {
  return `voicemail-${voicemail.receivedAt.toISOString().slice(0, 10)}-${voicemail._id.slice(0, 8)}.wav`;
}

/** Voicemail records in MongoDB and their audio (WAV) in GridFS. */
export class VoicemailStore {
  private readonly voicemails: Collection<VoicemailRecord>;
  private readonly audio: GridFsFiles;

  constructor(db: Db) {
    this.voicemails = db.collection<VoicemailRecord>(VOICEMAILS);
    this.audio = new GridFsFiles(db, BUCKET, 'voicemailId');
  }

  /** Inserts the record once; a redelivered event gets the stored one back with `created: false`. */
  async record(record: VoicemailRecord): Promise<{ voicemail: VoicemailRecord; created: boolean }> {
    try {
      await withTypedErrors(this.voicemails, (voicemails) => voicemails.insertOne(record));
      return { voicemail: record, created: true };
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const stored = await this.voicemails.findOne({ _id: record._id });
      if (!stored) throw error;
      return { voicemail: stored, created: false };
    }
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
    return this.audio.put(audioFileId(voicemail._id), audioFileName(voicemail), metadata, bytes);
  }

  readAudio(fileId: string): Promise<Buffer> {
    return this.audio.read(fileId);
  }

  /** Applies an update and mirrors status and reasons into the audio's GridFS metadata. */
  async update(voicemailId: string, update: UpdateFilter<VoicemailRecord>): Promise<VoicemailRecord> {
    const voicemail = await this.voicemails.findOneAndUpdate({ _id: voicemailId }, update, {
      returnDocument: 'after',
    });
    if (!voicemail) throw new Error(`voicemail ${voicemailId} vanished while being processed`);
    await this.audio.setMetadata(voicemailId, {
      status: faxServiceV1.voicemailStatusToJSON(voicemail.status),
      reasons: voicemail.reasons,
    });
    return voicemail;
  }

  /** Moves a voicemail from one status to another only if it is still in the first (a claim). */
  transition(
    tenantId: string,
    voicemailId: string,
    from: readonly faxServiceV1.VoicemailStatus[],
    to: faxServiceV1.VoicemailStatus,
  ): Promise<VoicemailRecord | null> {
    return this.voicemails.findOneAndUpdate(
      { _id: voicemailId, tenantId, status: { $in: [...from] } },
      { $set: { status: to } },
      { returnDocument: 'after' },
    );
  }

  get(tenantId: string, voicemailId: string): Promise<VoicemailRecord | null> {
    return this.voicemails.findOne({ _id: voicemailId, tenantId });
  }

  list(
    tenantId: string,
    options: { offset: number; limit: number; unhandledOnly: boolean },
  ): Promise<VoicemailRecord[]> {
    return this.voicemails
      .find({ tenantId, ...(options.unhandledOnly ? { handledAt: null } : {}) })
      .sort({ receivedAt: -1, _id: 1 })
      .skip(options.offset)
      .limit(options.limit)
      .toArray();
  }

  markHandled(tenantId: string, voicemailId: string, by: string, at: Date): Promise<VoicemailRecord | null> {
    return this.voicemails.findOneAndUpdate(
      { _id: voicemailId, tenantId },
      { $set: { handledAt: at, handledBy: by } },
      { returnDocument: 'after' },
    );
  }

  tenants(): Promise<string[]> {
    return this.voicemails.distinct('tenantId');
  }

  receivedBefore(tenantId: string, cutoff: Date, limit: number): Promise<VoicemailRecord[]> {
    return this.voicemails
      .find({ tenantId, receivedAt: { $lt: cutoff } })
      .limit(limit)
      .toArray();
  }

  /** Deletes the audio first, so a crash halfway leaves a record that the next sweep finds. */
  async delete(voicemail: VoicemailRecord): Promise<void> {
    await this.audio.delete(audioFileId(voicemail._id));
    await this.voicemails.deleteOne({ _id: voicemail._id });
  }
}
