export {
  SUBJECT_ROOT,
  SubjectError,
  UNKNOWN_TENANT,
  allTenantsSubject,
  callControlServeSubject,
  callControlSubject,
  deadLetterSubject,
  eventSubject,
  tenantOfSubject,
} from './subjects.js';
export {
  CALLS_STREAM,
  CDRS_STREAM,
  DIRECTORY_STREAM,
  DLQ_STREAM,
  FAX_INBOX_BUCKET,
  FAX_STREAM,
  INVOICES_STREAM,
  IVR_STREAM,
  STREAMS,
  type StreamDefinition,
} from './streams.js';
export {
  BillingEvents,
  CallEvents,
  DirectoryEvents,
  FaxEvents,
  IvrEvents,
  RatingEvents,
  type EventPayload,
  type EventType,
  type MessageCodec,
} from './catalog.js';
