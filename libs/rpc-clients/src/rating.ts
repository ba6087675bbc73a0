import { rpcServeSubject, rpcSubject } from '@switchboard/events';
import { ratingServiceV1 } from '@switchboard/proto';
import { natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';

// Rating's answers other services need, over NATS request/reply (`sb.<tenant>.rating.rpc.<Method>`,
// queue group `rating`): billing asks a month's voice packages at close, which the tariff owns.

const { getUsage } = ratingServiceV1.RatingServiceService;

export const RATING_RPC_DEFINITION = { getUsage };
export type RatingRpcClient = RpcClient<typeof RATING_RPC_DEFINITION>;

export const ratingRpcSubject = (tenantId: string, method: string): string => rpcSubject('rating', tenantId, method);

export const ratingRpcServeSubject = (method: string): string => rpcServeSubject('rating', method);

export function ratingRpcClient(nats: NatsHandle, timeoutMs = 5_000): RatingRpcClient {
  return natsRpcClient(nats, {
    definition: RATING_RPC_DEFINITION,
    subjectFor: (method, request) => ratingRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}
