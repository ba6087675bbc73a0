import * as grpc from '@grpc/grpc-js';

/** The claims of the bearer token a call carried (read, not verified: the fake only records them). */
export interface CallClaims {
  sub?: string;
  tid?: string;
  role?: string;
  depts?: string[];
}

export interface RecordedCall {
  method: string;
  request: unknown;
  claims: CallClaims;
}

type Handler = (request: never) => unknown;

/**
 * A gRPC server answering some methods of one service definition with the given handlers, on a
 * free 127.0.0.1 port, recording each call with its token's claims. A handler that throws
 * `{ code, details }` answers with that gRPC status; a server-streaming method's handler returns the
 * messages to send. Methods without a handler answer UNIMPLEMENTED.
 */
export async function startFakeService(
  definition: grpc.ServiceDefinition,
  handlers: Readonly<Record<string, Handler>>,
): Promise<{ address: string; calls: RecordedCall[]; close(): void }> {
  const server = new grpc.Server();
  const calls: RecordedCall[] = [];
  const implementation: grpc.UntypedServiceImplementation = {};
  const record = (method: string, call: { metadata: grpc.Metadata; request: unknown }) => {
    const bearer = String(call.metadata.get('authorization')[0] ?? '').replace(/^Bearer /, '');
    const payload = bearer.split('.')[1];
    const claims = payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as CallClaims) : {};
    calls.push({ method, request: call.request, claims });
  };
  for (const [method, handler] of Object.entries(handlers)) {
    if (definition[method]?.responseStream) {
      // A server stream: the handler returns the messages to send, in order.
      implementation[method] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        record(method, call);
        Promise.resolve()
          .then(() => handler(call.request as never) as unknown[])
          .then(
            (messages) => {
              for (const message of messages) call.write(message);
              call.end();
            },
            (error: unknown) => call.emit('error', error),
          );
      };
      continue;
    }
    implementation[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      record(method, call);
      Promise.resolve()
        .then(() => handler(call.request as never))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(error as grpc.ServiceError),
        );
    };
  }
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { address: `127.0.0.1:${port}`, calls, close: () => server.forceShutdown() };
}

/** A gRPC refusal as a service sends it. */
export const grpcError = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });
