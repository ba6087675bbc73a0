import { eventSubject } from '@switchboard/events';

// Routing's hot-path requests: `sb.<tenantId>.presence.rpc.<Method>` (Reserve, Confirm, Renew,
// Release). Built here rather than in the shared subjects module; documented in the README.

const METHOD = /^[A-Za-z]+$/;

function checkMethod(method: string): string {
  if (!METHOD.test(method)) throw new Error(`method "${method}" is not a valid subject token`);
  return method;
}

/** The subject a client sends one tenant's request to. */
export function presenceRpcSubject(tenantId: string, method: string): string {
  return `${eventSubject(tenantId, 'presence', 'rpc')}.${checkMethod(method)}`;
}

/** What presence serves: every tenant's requests for one method. */
export function presenceRpcServeSubject(method: string): string {
  return `sb.*.presence.rpc.${checkMethod(method)}`;
}

/** Queue group shared by the replicas, so each request is handled once. */
export const PRESENCE_QUEUE = 'presence';
