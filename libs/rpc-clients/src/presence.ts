import { rpcServeSubject, rpcSubject } from '@switchboard/events';
import { presenceReservationV1 } from '@switchboard/proto';
import { natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';

// Routing's hot path, switchboard.presence.v1.PresenceReservationService (Reserve, Confirm, Renew,
// Release): `sb.<tenantId>.presence.rpc.<Method>`, served by every presence replica in one queue group.

/** The subject a client sends one tenant's request to. */
export const presenceRpcSubject = (tenantId: string, method: string): string =>
  rpcSubject('presence', tenantId, method);

/** What presence serves: every tenant's requests for one method. */
export const presenceRpcServeSubject = (method: string): string => rpcServeSubject('presence', method);

/** Queue group shared by the replicas, so each request is handled once. */
export const PRESENCE_QUEUE = 'presence';

/** The generated definition of the reservation service, as served and called over NATS. */
export const PRESENCE_RESERVATION_DEFINITION: presenceReservationV1.PresenceReservationServiceService =
  presenceReservationV1.PresenceReservationServiceService;

export type PresenceRpcClient = RpcClient<typeof PRESENCE_RESERVATION_DEFINITION>;

/** Reserve, Confirm, Renew and Release over NATS request/reply, as routing calls them per call. */
export function presenceRpcClient(nats: NatsHandle, timeoutMs = 2_000): PresenceRpcClient {
  return natsRpcClient(nats, {
    definition: PRESENCE_RESERVATION_DEFINITION,
    subjectFor: (method, request) => presenceRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}
