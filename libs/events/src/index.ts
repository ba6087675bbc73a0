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
  AUDIT_STREAM,
  CALLS_STREAM,
  CDRS_STREAM,
  DIRECTORY_STREAM,
  DLQ_STREAM,
  FAX_INBOX_BUCKET,
  FAX_STREAM,
  INVOICES_STREAM,
  IVR_STREAM,
  STREAMS,
  VOICEMAIL_INBOX_BUCKET,
  type StreamDefinition,
} from './streams.js';
export {
  AuditEvents,
  BillingEvents,
  CallEvents,
  DirectoryEvents,
  FaxEvents,
  IvrEvents,
  RatingEvents,
  VoicemailEvents,
  type EventPayload,
  type EventType,
  type MessageCodec,
} from './catalog.js';
export {
  KV_BUCKETS,
  NATS_GRANTS,
  NATS_IDENTITIES,
  NATS_RPC,
  inboxPrefix,
  natsPermissions,
  protoMethods,
  type NatsGrant,
  type NatsIdentity,
  type NatsPermissions,
  type NatsRpcService,
} from './permissions.js';
export { NATS_ACCOUNT, natsAuthConfig, permissionsOf, type NatsUser } from './nats-server-config.js';
export { createNatsUserKey, publicKeyOfSeed, type NatsUserKey } from './nats-keys.js';
