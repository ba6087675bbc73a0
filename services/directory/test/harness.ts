import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1 } from '@switchboard/proto';
import type { NatsServer } from '@switchboard/testkit';
import { runService, type Principal, type RpcClient, type RunningService } from '@switchboard/service-kit';
import { testTokens } from '@switchboard/testkit';
import { directoryService } from '../src/service.js';

export const TOKENS = testTokens();
/** The devices' credential key of the tests (32 bytes, hex). */
export const DEVICE_SECRET_KEY = '5b0c3f6a9e21d48f7a13c0b9e2d46f81a7c35e0b94d2f6183ac70e59b1d24f6c';
const auth = TOKENS;

export type DirectoryApi = RpcClient<typeof directoryServiceV1.DirectoryServiceService>;

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

export function token(principal: Principal): Promise<string> {
  return auth.token(principal);
}

/** Every DirectoryService method as a promise, sent with one bearer token. */
export function directoryApi(port: number, bearer: string): { api: DirectoryApi; close(): void } {
  const client = new directoryServiceV1.DirectoryServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  const api: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const key of Object.keys(directoryServiceV1.DirectoryServiceService)) {
    const method = (client as unknown as Record<string, Unary>)[key]!;
    api[key] = (request) =>
      new Promise((resolve, reject) =>
        method.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
      );
  }
  return { api: api as DirectoryApi, close: () => client.close() };
}

export function startDirectory(
  urls: { nats: NatsServer; mongo: string; db: string },
  env: Record<string, string> = {},
): Promise<RunningService> {
  return runService(directoryService, {
    env: {
      ...urls.nats.env('directory'),
      MONGO_URL: urls.mongo,
      MONGO_DB: urls.db,
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...TOKENS.env,
      DEVICE_SECRET_KEY,
      ...env,
    },
    handleSignals: false,
  });
}

/** The gRPC status of a rejected call. */
export async function statusOf(call: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await call;
  } catch (error) {
    const { code, details } = error as grpc.ServiceError;
    return { code, details };
  }
  throw new Error('the call succeeded');
}
