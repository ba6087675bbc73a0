export {
  SUBJECT_ROOT,
  SubjectError,
  UNKNOWN_TENANT,
  allTenantsSubject,
  deadLetterSubject,
  eventSubject,
  tenantOfSubject,
} from './subjects.js';
export { CALLS_STREAM, DLQ_STREAM, STREAMS, type StreamDefinition } from './streams.js';
export { CallEvents, type EventPayload, type EventType, type MessageCodec } from './catalog.js';
