import { rpcServeSubject, rpcSubject } from '@switchboard/events';
import { directoryServiceV1 } from '@switchboard/proto';
import { natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';

// The per-call lookups over NATS request/reply: `sb.<tenant>.directory.rpc.<Method>`, served by
// every replica in queue group `directory`. ListStaff and ListDepartments are served too, so services that
// follow the directory (presence) can load a tenant's people without a gRPC token.

const { resolveNumber, isOpen, exportTenant, listStaff, listDepartments } = directoryServiceV1.DirectoryServiceService;

/**
 * The methods served over NATS: the same messages as the gRPC API. ExportTenant lets routing
 * load a tenant's whole directory into memory at start and after change events (not per call).
 */
export const DIRECTORY_RPC_DEFINITION = { resolveNumber, isOpen, exportTenant, listStaff, listDepartments };
export type DirectoryRpcClient = RpcClient<typeof DIRECTORY_RPC_DEFINITION>;

export const directoryRpcSubject = (tenantId: string, method: string): string =>
  rpcSubject('directory', tenantId, method);

export const directoryRpcServeSubject = (method: string): string => rpcServeSubject('directory', method);

export function directoryRpcClient(nats: NatsHandle, timeoutMs = 2_000): DirectoryRpcClient {
  return natsRpcClient(nats, {
    definition: DIRECTORY_RPC_DEFINITION,
    subjectFor: (method, request) => directoryRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}
