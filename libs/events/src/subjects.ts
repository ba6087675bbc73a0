/** Every subject is `sb.<tenantId>.<domain>.<event>` (DESIGN.md, Contracts). */
export const SUBJECT_ROOT = 'sb';

// A subject token must not contain NATS separators or wildcards, nor whitespace.
const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * A tenant id as the directory creates it: it becomes a subject token, a KV key part and a
 * database key, so every API refuses any other shape before it reaches a handler.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TENANT_ID_RULE = '1–63 lowercase letters, digits, "-" or "_", starting alphanumeric';

export class SubjectError extends Error {
  override readonly name = 'SubjectError';
}

function checkToken(kind: string, value: string): string {
  if (!TOKEN.test(value)) {
    throw new SubjectError(`${kind} "${value}" is not a valid subject token (letters, digits, "-", "_")`);
  }
  return value;
}

export function eventSubject(tenantId: string, domain: string, event: string): string {
  return [
    SUBJECT_ROOT,
    checkToken('tenant id', tenantId),
    checkToken('domain', domain),
    checkToken('event', event),
  ].join('.');
}

/** The subject that matches one event for all tenants, e.g. `sb.*.call.ended`. */
export function allTenantsSubject(domain: string, event = '>'): string {
  return [SUBJECT_ROOT, '*', checkToken('domain', domain), event === '>' ? '>' : checkToken('event', event)].join('.');
}

/** The tenant id of an `sb.<tenantId>.…` subject, or undefined when the subject has another shape. */
export function tenantOfSubject(subject: string): string | undefined {
  const [root, tenantId] = subject.split('.');
  return root === SUBJECT_ROOT && tenantId && TOKEN.test(tenantId) ? tenantId : undefined;
}

/** Call-control requests for the adapter that owns a call: `sb.<tenantId>.callcontrol.<adapterId>.<Method>`. */
export function callControlSubject(tenantId: string, adapterId: string, method: string): string {
  return [
    eventSubject(tenantId, 'callcontrol', checkToken('adapter id', adapterId)),
    checkToken('method', method),
  ].join('.');
}

/** What one adapter serves: every tenant's requests for one method. */
export function callControlServeSubject(adapterId: string, method: string): string {
  return [SUBJECT_ROOT, '*', 'callcontrol', checkToken('adapter id', adapterId), checkToken('method', method)].join(
    '.',
  );
}

/** Parked messages of a consumer: `sb.<tenantId>.dlq.<durable>`. */
export function deadLetterSubject(tenantId: string, durable: string): string {
  return eventSubject(tenantId, 'dlq', durable);
}

/** Tenant token used for parked messages whose original subject carried none. */
export const UNKNOWN_TENANT = '_unknown';

/** The services that answer request/reply on `sb.<tenantId>.<service>.rpc.<Method>`. */
export type RpcDomain = 'directory' | 'ivr' | 'presence' | 'rating';

/** A request for one tenant: `sb.<tenantId>.<service>.rpc.<Method>`; the tenant token lets NATS permissions scope callers. */
export function rpcSubject(domain: RpcDomain, tenantId: string, method: string): string {
  return `${eventSubject(tenantId, domain, 'rpc')}.${checkToken('method', method)}`;
}

/** What the service's replicas serve (one queue group per service): every tenant's requests for one method. */
export function rpcServeSubject(domain: RpcDomain, method: string): string {
  return [SUBJECT_ROOT, '*', domain, 'rpc', checkToken('method', method)].join('.');
}
