import { rpcServeSubject, rpcSubject } from '@switchboard/events';
import { presenceV1 } from '@switchboard/proto';
import { natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';

// Routing's hot-path requests: `sb.<tenantId>.presence.rpc.<Method>` (Reserve, Confirm, Renew,
// Release), served by every presence replica in one queue group.

/** The subject a client sends one tenant's request to. */
export const presenceRpcSubject = (tenantId: string, method: string): string =>
  rpcSubject('presence', tenantId, method);

/** What presence serves: every tenant's requests for one method. */
export const presenceRpcServeSubject = (method: string): string => rpcServeSubject('presence', method);

/** Queue group shared by the replicas, so each request is handled once. */
export const PRESENCE_QUEUE = 'presence';

const { reserve, confirm, renew, release } = presenceV1.PresenceServiceService;

/** Routing's per-call methods, served over NATS request/reply besides gRPC. */
export const hotPathMethods = { reserve, confirm, renew, release };

export type PresenceRpcClient = RpcClient<typeof hotPathMethods>;

/** Reserve, Confirm, Renew and Release over NATS request/reply, as routing calls them per call. */
export function presenceRpcClient(nats: NatsHandle, timeoutMs = 2_000): PresenceRpcClient {
  return natsRpcClient(nats, {
    definition: hotPathMethods,
    subjectFor: (method, request) => presenceRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}
