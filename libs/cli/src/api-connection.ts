import * as grpc from '@grpc/grpc-js';
import { bearerToken } from './credentials.js';

/** A grpc-js unary method as ts-proto generates it on a client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** A client of one service API and the metadata (bearer token) every call sends. */
export interface ApiConnection<C extends grpc.Client> {
  readonly client: C;
  readonly metadata: grpc.Metadata;
}

export interface ApiTarget<C extends grpc.Client> {
  /** `host:port` of the service (from its `SB_<SERVICE>_ADDR` variable or the default port). */
  address: string;
  tenant: string;
  env: NodeJS.ProcessEnv;
  create(address: string, credentials: grpc.ChannelCredentials): C;
}

/** Opens a client with a token for the tenant, runs `work` with it, and closes it again. */
export async function withApi<C extends grpc.Client, T>(
  target: ApiTarget<C>,
  work: (connection: ApiConnection<C>) => Promise<T>,
): Promise<T> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await bearerToken({ tenant: target.tenant }, target.env)}`);
  const client = target.create(target.address, grpc.credentials.createInsecure());
  try {
    return await work({ client, metadata });
  } finally {
    client.close();
  }
}

/** One unary call; a failure becomes an Error reading `STATUS: details` for the person at the terminal. */
export function unary<Req, Res, C extends grpc.Client = grpc.Client>(
  connection: ApiConnection<C>,
  method: UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(connection.client, request, connection.metadata, (error, response) =>
      error ? reject(new Error(`${grpc.status[error.code]}: ${error.details}`)) : resolve(response),
    ),
  );
}
