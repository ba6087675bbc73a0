import * as grpc from '@grpc/grpc-js';
import { isOpen, resolveNumber, type DirectoryModel } from '@switchboard/directory-cache';
import type { directoryServiceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';

// ResolveNumber and IsOpen without a round trip: answered from the tenant's mirrored snapshot by
// the code the directory's own handlers run (libs/directory-cache), so the answers, and the
// NOT_FOUND / INVALID_ARGUMENT errors, are the directory's. Same shape as the `directory` member
// of FlowClients, so the call flow does not notice the difference.

export interface DirectoryLookups {
  resolveNumber(request: directoryServiceV1.ResolveNumberRequest): Promise<directoryServiceV1.ResolveNumberResponse>;
  isOpen(request: directoryServiceV1.IsOpenRequest): Promise<directoryServiceV1.IsOpenResponse>;
}

/** Where the models come from: routing's SnapshotDirectory. */
export interface DirectoryModels {
  model(tenantId: string): Promise<DirectoryModel>;
}

export function directoryLookups(models: DirectoryModels): DirectoryLookups {
  // A tenant the directory does not know answers like the directory: the number or tenant is not
  // found. Anything else (the directory unreachable for a tenant without a snapshot) stays an error.
  const modelOf = (tenantId: string) =>
    models.model(tenantId).catch((error: unknown) => {
      if (error instanceof GrpcStatusError && error.code === grpc.status.NOT_FOUND) return undefined;
      throw error;
    });
  return {
    resolveNumber: async (request) => resolveNumber(await modelOf(request.tenantId), request),
    isOpen: async (request) => isOpen(await modelOf(request.tenantId), request),
  };
}
