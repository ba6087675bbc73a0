import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1 } from '@switchboard/proto';
import type { Authenticator } from '@switchboard/service-kit';

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
  listNumbers(tenantId: string): Promise<directoryServiceV1.ListNumbersResponse>;
  listStaff(tenantId: string): Promise<directoryServiceV1.ListStaffResponse>;
  listDeviceCredentials(tenantId: string): Promise<directoryServiceV1.ListDeviceCredentialsResponse>;
}

const TOKEN_TTL_SECONDS = 60;

/**
 * Each request carries a short-lived token of role `service` (which reads every tenant), signed
 * with the kit's AUTH_JWT_SECRET.
 */
export function directoryClient(
  address: string,
  authenticator: Authenticator,
  timeoutMs: number,
): DirectoryClient & { close(): void } {
  const client = new directoryServiceV1.DirectoryServiceClient(address, grpc.credentials.createInsecure());
  const call = async <Res>(method: keyof DirectoryClient, request: { tenantId: string }): Promise<Res> => {
    const token = await authenticator.issue(
      { subject: 'ari-adapter', tenantId: request.tenantId, role: 'service' },
      TOKEN_TTL_SECONDS,
    );
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
    listNumbers: (tenantId) => call('listNumbers', { tenantId }),
    listStaff: (tenantId) => call('listStaff', { tenantId }),
    listDeviceCredentials: (tenantId) => call('listDeviceCredentials', { tenantId }),
    close: () => client.close(),
  };
}

/** The directory answered that the tenant does not exist (deleted meanwhile). */
export const isNotFound = (error: unknown) => (error as Partial<grpc.ServiceError>).code === grpc.status.NOT_FOUND;
