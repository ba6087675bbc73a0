import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1 } from '@switchboard/proto';

// The adapter reads the directory over its gRPC API (tenants, numbers, staff, device credentials
// are not all served over NATS). Never per call: at start, on change events and periodically.

type Unary<Res> = (
  request: { tenantId: string },
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => unknown;

/** The directory reads the adapter makes. */
export interface DirectoryClient {
  listTenants(): Promise<directoryServiceV1.ListTenantsResponse>;
  getTenant(tenantId: string): Promise<directoryServiceV1.GetTenantResponse>;
  listSites(tenantId: string): Promise<directoryServiceV1.ListSitesResponse>;
  listNumbers(tenantId: string): Promise<directoryServiceV1.ListNumbersResponse>;
  listStaff(tenantId: string): Promise<directoryServiceV1.ListStaffResponse>;
  listDeviceCredentials(tenantId: string): Promise<directoryServiceV1.ListDeviceCredentialsResponse>;
}

/**
 * Each request carries the adapter's own token of role `service` (which reads every tenant), issued
 * to it (AUTH_SERVICE_TOKEN_FILE) and read afresh so a renewed one is used at once.
 */
export function directoryClient(
  address: string,
  serviceToken: () => Promise<string>,
  timeoutMs: number,
): DirectoryClient & { close(): void } {
  const client = new directoryServiceV1.DirectoryServiceClient(address, grpc.credentials.createInsecure());
  const call = async <Res>(method: keyof DirectoryClient, request: { tenantId: string }): Promise<Res> => {
    const token = await serviceToken();
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    // Every method used here is unary with the same shape; grpc-js' overloads defeat one typing.
    const unary = client[method] as unknown as Unary<Res>;
    return new Promise((resolve, reject) =>
      unary.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
  };
  return {
    // An empty tenant_id lists every tenant to a cross-tenant role.
    listTenants: () => call('listTenants', { tenantId: '' }),
    getTenant: (tenantId) => call('getTenant', { tenantId }),
    listSites: (tenantId) => call('listSites', { tenantId }),
    listNumbers: (tenantId) => call('listNumbers', { tenantId }),
    listStaff: (tenantId) => call('listStaff', { tenantId }),
    listDeviceCredentials: (tenantId) => call('listDeviceCredentials', { tenantId }),
    close: () => client.close(),
  };
}

/** The directory answered that the tenant does not exist (deleted meanwhile). */
export const isNotFound = (error: unknown) => (error as Partial<grpc.ServiceError>).code === grpc.status.NOT_FOUND;
