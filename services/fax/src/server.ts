import * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, currentPrincipal } from '@switchboard/service-kit';
import type { FaxIntake } from './fax-intake.js';
import { InvalidInputError, type FaxSettingsStore } from './fax-settings.js';
import { documentFileName, type FaxRecord, type FaxStore } from './fax-store.js';
import type { MailboxResolver } from './mailbox-resolver.js';
import type { Retention } from './retention.js';
import type { VoicemailIntake } from './voicemail-intake.js';
import { supervisedDepartments } from './policy.js';
import { audioFileName, type VoicemailRecord, type VoicemailStore } from './voicemail-store.js';

const { DocumentFormat } = faxServiceV1;
const CHUNK_BYTES = 64 * 1024;

export interface FaxApiDependencies {
  store: FaxStore;
  settings: FaxSettingsStore;
  mailboxes: MailboxResolver;
  intake: FaxIntake;
  retention: Retention;
  voicemails: VoicemailStore;
  voicemailIntake: VoicemailIntake;
}

export function toFaxMessage(fax: FaxRecord): faxServiceV1.Fax {
  return {
    faxId: fax._id,
    tenantId: fax.tenantId,
    callId: fax.callId,
    dialedNumber: fax.dialedNumber,
    callerNumber: fax.callerNumber,
    remoteStationId: fax.remoteStationId,
    pages: fax.pages,
    receptionResult: fax.receptionResult,
    receptionError: fax.receptionError,
    receivedAt: fax.receivedAt,
    status: fax.status,
    reasons: fax.reasons,
    departmentId: fax.departmentId,
    mailbox: fax.mailbox,
    viaFallback: fax.viaFallback,
    deliveryAttempts: fax.deliveryAttempts,
    deliveredAt: fax.deliveredAt ?? undefined,
    handledAt: fax.handledAt ?? undefined,
    handledBy: fax.handledBy,
    hasPdf: fax.pdfFileId !== null,
    hasOriginal: fax.originalFileId !== null,
  };
}

function toVoicemailMessage(voicemail: VoicemailRecord): faxServiceV1.Voicemail {
  return {
    voicemailId: voicemail._id,
    tenantId: voicemail.tenantId,
    callId: voicemail.callId,
    departmentId: voicemail.departmentId,
    dialedNumber: voicemail.dialedNumber,
    callerNumber: voicemail.callerNumber,
    durationSeconds: voicemail.durationSeconds,
    recordingError: voicemail.recordingError,
    receivedAt: voicemail.receivedAt,
    status: voicemail.status,
    reasons: voicemail.reasons,
    mailbox: voicemail.mailbox,
    viaFallback: voicemail.viaFallback,
    deliveryAttempts: voicemail.deliveryAttempts,
    deliveredAt: voicemail.deliveredAt ?? undefined,
    handledAt: voicemail.handledAt ?? undefined,
    handledBy: voicemail.handledBy,
    hasAudio: voicemail.audioFileId !== null,
    audioBytes: String(voicemail.audioBytes),
  };
}

function toStatusError(error: unknown): unknown {
  if (error instanceof InvalidInputError) return new GrpcStatusError(grpc.status.INVALID_ARGUMENT, error.message);
  return error;
}

/** Runs an async handler; the kit's wrapper has already checked the token and the tenant. */
function unary<Req, Res>(work: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    work(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toStatusError(error) as grpc.ServiceError),
    );
  };
}

function clampPageSize(requested: number, fallback: number, max: number): number {
  if (requested < 0) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'page_size must not be negative');
  return Math.min(requested || fallback, max);
}

function parsePageToken(token: string): number {
  if (token === '') return 0;
  if (!/^\d{1,9}$/.test(token)) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'page_token is not valid');
  return Number(token);
}

function requireFaxId(faxId: string): void {
  if (!faxId) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'fax_id is required');
}

function requireVoicemailId(voicemailId: string): void {
  if (!voicemailId) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'voicemail_id is required');
}

/**
 * The departments a list covers: the request's filter, else a supervisor's own (the policy has
 * refused a filter naming another); undefined: every record of the tenant. A supervisor's record
 * by id is checked by the policy (policy.ts), before a handler runs.
 */
function listedDepartments(departmentId: string): readonly string[] | undefined {
  return departmentId ? [departmentId] : supervisedDepartments(currentPrincipal());
}

interface DownloadPart {
  fileName: string;
  contentType: string;
  totalBytes: string;
  chunk: Buffer;
}

/** Streams a file in chunks, name and size in the first; a failure ends the call with its status. */
function streamFile(
  call: { write(part: DownloadPart): unknown; end(): void; emit(event: 'error', status: unknown): unknown },
  file: () => Promise<{ fileName: string; contentType: string; bytes: Buffer }>,
): void {
  void (async () => {
    const { fileName, contentType, bytes } = await file();
    call.write({ fileName, contentType, totalBytes: String(bytes.length), chunk: bytes.subarray(0, CHUNK_BYTES) });
    for (let at = CHUNK_BYTES; at < bytes.length; at += CHUNK_BYTES) {
      call.write({ fileName: '', contentType: '', totalBytes: '0', chunk: bytes.subarray(at, at + CHUNK_BYTES) });
    }
    call.end();
  })().catch((error: unknown) => {
    const status =
      error instanceof GrpcStatusError
        ? { code: error.code, details: error.details }
        : { code: grpc.status.INTERNAL, details: 'internal error' };
    call.emit('error', status);
  });
}

/** The Fax API; a fax id of another tenant is NOT_FOUND, just like one that does not exist. */
export function createFaxApi({
  store,
  settings,
  mailboxes,
  intake,
  retention,
  voicemails,
  voicemailIntake,
}: FaxApiDependencies): faxServiceV1.FaxServiceServer {
  const found = async (tenantId: string, faxId: string): Promise<FaxRecord> => {
    requireFaxId(faxId);
    const fax = await store.get(tenantId, faxId);
    if (!fax) throw new GrpcStatusError(grpc.status.NOT_FOUND, `fax ${faxId} not found in tenant ${tenantId}`);
    return fax;
  };
  const foundVoicemail = async (tenantId: string, voicemailId: string): Promise<VoicemailRecord> => {
    requireVoicemailId(voicemailId);
    const voicemail = await voicemails.get(tenantId, voicemailId);
    if (!voicemail) {
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `voicemail ${voicemailId} not found in tenant ${tenantId}`);
    }
    return voicemail;
  };

  return {
    listFaxes: unary(async (request) => {
      const limit = clampPageSize(request.pageSize, 50, 200);
      const offset = parsePageToken(request.pageToken);
      const faxes = await store.list(request.tenantId, {
        offset,
        limit: limit + 1,
        unhandledOnly: request.unhandledOnly,
        departments: listedDepartments(request.departmentId),
      });
      return {
        faxes: faxes.slice(0, limit).map(toFaxMessage),
        nextPageToken: faxes.length > limit ? String(offset + limit) : '',
      };
    }),

    getFax: unary(async (request) => ({ fax: toFaxMessage(await found(request.tenantId, request.faxId)) })),

    downloadFax: (call) => {
      const { tenantId, faxId, format } = call.request;
      const kind = format === DocumentFormat.DOCUMENT_FORMAT_ORIGINAL_TIFF ? 'original' : 'pdf';
      streamFile(call, async () => {
        const fax = await found(tenantId, faxId);
        const fileId = kind === 'pdf' ? fax.pdfFileId : fax.originalFileId;
        if (!fileId) {
          throw new GrpcStatusError(
            grpc.status.FAILED_PRECONDITION,
            `fax ${faxId} has no ${kind === 'pdf' ? 'PDF' : 'original document'} (status ${faxServiceV1.faxStatusToJSON(fax.status)})`,
          );
        }
        return {
          fileName: documentFileName(fax, kind),
          contentType: kind === 'pdf' ? 'application/pdf' : 'image/tiff',
          bytes: await store.readDocument(fileId),
        };
      });
    },

    markFaxHandled: unary(async (request) => {
      requireFaxId(request.faxId);
      const fax = await store.markHandled(request.tenantId, request.faxId, currentPrincipal().subject, new Date());
      if (!fax)
        throw new GrpcStatusError(
          grpc.status.NOT_FOUND,
          `fax ${request.faxId} not found in tenant ${request.tenantId}`,
        );
      return { fax: toFaxMessage(fax) };
    }),

    retryFaxDelivery: unary(async (request) => {
      const fax = await found(request.tenantId, request.faxId);
      const retried = await intake.retryDelivery(request.tenantId, request.faxId);
      if (!retried) {
        throw new GrpcStatusError(
          grpc.status.FAILED_PRECONDITION,
          `fax ${fax._id} is ${faxServiceV1.faxStatusToJSON(fax.status)}; only NO_MAILBOX and DELIVERY_FAILED faxes are delivered again`,
        );
      }
      return { fax: toFaxMessage(retried) };
    }),

    // Read only: routes are the directory's; this shows the copy faxes are routed by.
    listFaxRoutes: unary(async (request) => ({ routes: await mailboxes.list(request.tenantId) })),

    getFaxSettings: unary(async (request) => ({ settings: await settings.get(request.tenantId) })),

    updateFaxSettings: unary(async (request) => {
      if (!request.settings) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'settings are required');
      return { settings: await settings.update(request.tenantId, request.settings) };
    }),

    listRetentionLog: unary(async (request) => {
      const entries = await retention.entries(request.tenantId, clampPageSize(request.pageSize, 100, 500));
      return {
        entries: entries.map((entry) => ({
          faxId: entry.faxId,
          voicemailId: entry.voicemailId ?? '',
          durationSeconds: entry.durationSeconds ?? 0,
          voicemailStatus: entry.voicemailStatus ?? faxServiceV1.VoicemailStatus.VOICEMAIL_STATUS_UNSPECIFIED,
          dialedNumber: entry.dialedNumber,
          callerNumber: entry.callerNumber,
          pages: entry.pages,
          status: entry.status,
          receivedAt: entry.receivedAt,
          deletedAt: entry.deletedAt,
          retentionDays: entry.retentionDays,
        })),
      };
    }),

    listVoicemails: unary(async (request) => {
      const limit = clampPageSize(request.pageSize, 50, 200);
      const offset = parsePageToken(request.pageToken);
      const found = await voicemails.list(request.tenantId, {
        offset,
        limit: limit + 1,
        unhandledOnly: request.unhandledOnly,
        departments: listedDepartments(request.departmentId),
      });
      return {
        voicemails: found.slice(0, limit).map(toVoicemailMessage),
        nextPageToken: found.length > limit ? String(offset + limit) : '',
      };
    }),

    getVoicemail: unary(async (request) => ({
      voicemail: toVoicemailMessage(await foundVoicemail(request.tenantId, request.voicemailId)),
    })),

    downloadVoicemail: (call) => {
      const { tenantId, voicemailId } = call.request;
      streamFile(call, async () => {
        const voicemail = await foundVoicemail(tenantId, voicemailId);
        if (!voicemail.audioFileId) {
          throw new GrpcStatusError(
            grpc.status.FAILED_PRECONDITION,
            `voicemail ${voicemailId} has no audio (${voicemail.reasons.at(-1) ?? 'none arrived'})`,
          );
        }
        return {
          fileName: audioFileName(voicemail),
          contentType: 'audio/wav',
          bytes: await voicemails.readAudio(voicemail.audioFileId),
        };
      });
    },

    markVoicemailHandled: unary(async (request) => {
      requireVoicemailId(request.voicemailId);
      const voicemail = await voicemails.markHandled(
        request.tenantId,
        request.voicemailId,
        currentPrincipal().subject,
        new Date(),
      );
      if (!voicemail) {
        throw new GrpcStatusError(
          grpc.status.NOT_FOUND,
          `voicemail ${request.voicemailId} not found in tenant ${request.tenantId}`,
        );
      }
      return { voicemail: toVoicemailMessage(voicemail) };
    }),

    retryVoicemailDelivery: unary(async (request) => {
      const voicemail = await foundVoicemail(request.tenantId, request.voicemailId);
      const retried = await voicemailIntake.retryDelivery(request.tenantId, request.voicemailId);
      if (!retried) {
        throw new GrpcStatusError(
          grpc.status.FAILED_PRECONDITION,
          `voicemail ${voicemail._id} is ${faxServiceV1.voicemailStatusToJSON(voicemail.status)}; only NO_MAILBOX and DELIVERY_FAILED voicemails are delivered again`,
        );
      }
      return { voicemail: toVoicemailMessage(retried) };
    }),
  };
}
