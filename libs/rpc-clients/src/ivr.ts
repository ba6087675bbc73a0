import { SUBJECT_ROOT, eventSubject } from '@switchboard/events';

/**
 * IVR requests over NATS: `sb.<tenantId>.ivr.rpc.<Method>`; the tenant token lets NATS
 * permissions scope callers.
 */
export function ivrRpcSubject(tenantId: string, method: string): string {
  return `${eventSubject(tenantId, 'ivr', 'rpc')}.${method}`;
}

/** What the ivr service serves: every tenant's requests for one method. */
export function ivrRpcServeSubject(method: string): string {
  return `${SUBJECT_ROOT}.*.ivr.rpc.${method}`;
}
