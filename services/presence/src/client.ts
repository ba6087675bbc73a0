import { natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';
import { hotPathMethods } from './presence.js';
import { presenceRpcSubject } from './subjects.js';

export type PresenceRpcClient = RpcClient<typeof hotPathMethods>;

/** Reserve, Confirm, Renew and Release over NATS request/reply, as routing calls them per call. */
export function presenceRpcClient(nats: NatsHandle, timeoutMs = 2_000): PresenceRpcClient {
  return natsRpcClient(nats, {
    definition: hotPathMethods,
    subjectFor: (method, request) => presenceRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}
