import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  auditEventsV1,
  billingEventsV1,
  callV1,
  directoryEventsV1,
  faxV1,
  ivrV1,
  ratingV1,
  type commonV1,
} from '@switchboard/proto';
import {
  AUDIT_STREAM,
  CALLS_STREAM,
  CDRS_STREAM,
  DIRECTORY_STREAM,
  FAX_STREAM,
  INVOICES_STREAM,
  IVR_STREAM,
  type StreamDefinition,
} from './streams.js';

/** The protobuf codec ts-proto generates for every message. */
export interface MessageCodec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

/** Every event payload starts with the common envelope. */
export interface EventPayload {
  meta?: commonV1.EventMeta | undefined;
}

/** One kind of event: where it is published, which stream keeps it, how it is encoded. */
export interface EventType<T extends EventPayload> {
  readonly domain: string;
  readonly event: string;
  readonly stream: StreamDefinition;
  readonly codec: MessageCodec<T>;
}

function eventType<T extends EventPayload>(
  domain: string,
  event: string,
  stream: StreamDefinition,
  codec: MessageCodec<T>,
): EventType<T> {
  return { domain, event, stream, codec };
}

export const CallEvents = {
  started: eventType('call', 'started', CALLS_STREAM, callV1.CallStarted),
  dtmfReceived: eventType('call', 'dtmf_received', CALLS_STREAM, callV1.CallDtmfReceived),
  playbackFinished: eventType('call', 'playback_finished', CALLS_STREAM, callV1.CallPlaybackFinished),
  legUpdated: eventType('call', 'leg_updated', CALLS_STREAM, callV1.CallLegUpdated),
  takenOver: eventType('call', 'taken_over', CALLS_STREAM, callV1.CallTakenOver),
  ended: eventType('call', 'ended', CALLS_STREAM, callV1.CallEnded),
} as const;

export const FaxEvents = {
  received: eventType('fax', 'received', FAX_STREAM, faxV1.FaxReceived),
} as const;

/** Voicemails the adapters recorded; on the FAX stream, the fax service keeps both inboxes. */
export const VoicemailEvents = {
  received: eventType('voicemail', 'received', FAX_STREAM, faxV1.VoicemailReceived),
} as const;

export const RatingEvents = {
  cdrRated: eventType('cdr', 'rated', CDRS_STREAM, ratingV1.CdrRated),
  poolThresholdReached: eventType('cdr', 'pool_threshold_reached', CDRS_STREAM, ratingV1.PoolThresholdReached),
} as const;

export const BillingEvents = {
  invoiceIssued: eventType('invoice', 'issued', INVOICES_STREAM, billingEventsV1.InvoiceIssued),
} as const;

export const IvrEvents = {
  menuChanged: eventType('ivr', 'menu_changed', IVR_STREAM, ivrV1.MenuChanged),
} as const;

/** Directory changes, so other services refresh their caches. */
export const DirectoryEvents = {
  tenantChanged: eventType('directory', 'tenant_changed', DIRECTORY_STREAM, directoryEventsV1.TenantChanged),
  siteChanged: eventType('directory', 'site_changed', DIRECTORY_STREAM, directoryEventsV1.SiteChanged),
  numberChanged: eventType('directory', 'number_changed', DIRECTORY_STREAM, directoryEventsV1.NumberChanged),
  departmentChanged: eventType(
    'directory',
    'department_changed',
    DIRECTORY_STREAM,
    directoryEventsV1.DepartmentChanged,
  ),
  staffChanged: eventType('directory', 'staff_changed', DIRECTORY_STREAM, directoryEventsV1.StaffChanged),
} as const;

/** A change made through an admin API, for the audit log (service-kit publishes, the directory stores). */
export const AuditEvents = {
  recorded: eventType('audit', 'recorded', AUDIT_STREAM, auditEventsV1.AuditRecorded),
} as const;
