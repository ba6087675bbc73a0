import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { fuzzGrpcService, type FuzzedCall } from './fuzz.js';

const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
const definition = loadSync(['switchboard/presence/v1/presence_service.proto'], {
  includeDirs: [PROTO_ROOT],
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const SERVICE = 'switchboard.presence.v1.PresenceService';
const methods = definition[SERVICE] as grpc.ServiceDefinition;

let server: grpc.Server | undefined;
afterEach(() => server?.forceShutdown());

/** Every method refuses a bad request clearly, except where `broken` says how it fails instead. */
async function serve(broken: (method: string, request: Record<string, unknown>) => void): Promise<string> {
  server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {};
  const tolerant: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(methods)) {
    // grpc-js answers INTERNAL for a request it cannot decode; a server refuses it as bad input.
    tolerant[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes) as unknown;
        } catch {
          return { undecodable: true };
        }
      },
    };
    const answer = (request: Record<string, unknown>) => {
      if (request['undecodable']) return { code: grpc.status.INVALID_ARGUMENT, details: 'not a request' };
      broken(name, request);
      return { code: grpc.status.INVALID_ARGUMENT, details: 'checked and refused' };
    };
    implementation[name] = method.responseStream
      ? (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => call.emit('error', answer(call.request))
      : (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, reply: grpc.sendUnaryData<unknown>) => {
          try {
            reply(answer(call.request));
          } catch (error) {
            reply(error as Error);
          }
        };
  }
  server.addService(tolerant, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return `127.0.0.1:${port}`;
}

const options = (address: string, calls: FuzzedCall[]) => ({
  address,
  definition,
  service: SERVICE,
  token: () => 'not-checked-here',
  hints: { tenantId: 't-fuzz' },
  seed: 42,
  runs: 30,
  onCall: (call: FuzzedCall) => calls.push(call),
});

describe('fuzzGrpcService', () => {
  it('passes a server that refuses every bad request with a clear status', async () => {
    const calls: FuzzedCall[] = [];
    await fuzzGrpcService(options(await serve(() => undefined), calls));
    const unary = Object.values(methods).filter((method) => !method.responseStream).length;
    expect(new Set(calls.map((call) => call.method)).size).toBe(Object.keys(methods).length);
    expect(calls.filter((call) => call.kind === 'bytes').length).toBeGreaterThanOrEqual(unary * 10);
    expect(
      calls.every((call) => call.code === grpc.status.INVALID_ARGUMENT || call.code === grpc.status.INTERNAL),
    ).toBe(true);
    expect(calls.some((call) => call.code === grpc.status.INTERNAL)).toBe(false);
  });

  it('finds and names the request a handler fails on', async () => {
    const address = await serve((method, request) => {
      const agentId = request['agentId'];
      if (method === 'SetState' && typeof agentId === 'string' && agentId.includes('\u0000')) {
        throw Object.assign(new Error('boom'), { code: grpc.status.INTERNAL });
      }
    });
    await expect(fuzzGrpcService(options(address, []))).rejects.toThrow(/SetState answered INTERNAL[\s\S]*agentId/);
  });

  it('generates the same requests for the same seed', async () => {
    const first: FuzzedCall[] = [];
    const second: FuzzedCall[] = [];
    const address = await serve(() => undefined);
    await fuzzGrpcService(options(address, first));
    await fuzzGrpcService(options(address, second));
    expect(second).toEqual(first);
  });
});
