import { AsyncLocalStorage } from 'node:async_hooks';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { loadProtoPackageDefinition } from '@switchboard/proto';
import { HealthImplementation } from 'grpc-health-check';
import { AuthError, mayAccessTenant, type Authenticator, type Principal } from './auth.js';
import type { Logger } from './logger.js';
import { recordRpc } from './metrics.js';

/** An error a handler throws or passes to its callback to answer with a specific status. */
export class GrpcStatusError extends Error implements Partial<grpc.StatusObject> {
  override readonly name = 'GrpcStatusError';
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

const principals = new AsyncLocalStorage<Principal>();

/** The verified caller of the RPC being handled. */
export function currentPrincipal(): Principal {
  const principal = principals.getStore();
  if (!principal) throw new GrpcStatusError(grpc.status.UNAUTHENTICATED, 'no authenticated caller');
  return principal;
}

/** For handlers whose tenant is not the request's `tenantId` field (e.g. a record looked up by id). */
export function assertTenantAccess(tenantId: string): void {
  const principal = currentPrincipal();
  if (!mayAccessTenant(principal, tenantId)) {
    throw new GrpcStatusError(
      grpc.status.PERMISSION_DENIED,
      `${principal.role} of tenant ${principal.tenantId} may not access tenant ${tenantId}`,
    );
  }
}

function bearerToken(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  const match = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value) : undefined;
  return match?.[1];
}

function requestTenant(request: unknown): string | undefined {
  if (request && typeof request === 'object' && 'tenantId' in request) {
    const tenantId = (request as { tenantId: unknown }).tenantId;
    return typeof tenantId === 'string' && tenantId !== '' ? tenantId : undefined;
  }
  return undefined;
}

function toStatus(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof GrpcStatusError) return { code: error.code, details: error.details };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

export interface GrpcServerOptions {
  authenticator: Authenticator;
  logger: Logger;
  /** .proto files (relative to proto/) served by reflection, e.g. `switchboard/call/v1/call_events.proto`. */
  reflectionProtos?: readonly string[];
}

/**
 * grpc-js server with the standard health service and reflection (both open, for probes and
 * grpcurl); every service added through `addService` needs a bearer JWT and may only touch the
 * tenant of its token unless its role is cross-tenant.
 */
export class GrpcServer {
  readonly server = new grpc.Server();
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  private readonly serviceNames: string[] = [];
  private draining = false;

  constructor(private readonly options: GrpcServerOptions) {
    this.health.addToServer(this.server);
    if (options.reflectionProtos?.length) {
      new ReflectionService(loadProtoPackageDefinition(options.reflectionProtos)).addToServer(this.server);
    }
  }

  addService(
    name: string,
    definition: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void {
    const secured: grpc.UntypedServiceImplementation = {};
    for (const [method, attributes] of Object.entries(definition)) {
      const handler = implementation[method];
      if (!handler) throw new Error(`${name} has no implementation for ${method}`);
      secured[method] = this.secure(name, method, attributes, handler);
    }
    this.server.addService(definition, secured);
    this.serviceNames.push(name);
  }

  private async authorize(metadata: grpc.Metadata, request: unknown): Promise<Principal> {
    if (this.draining)
      throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'server is shutting down; retry on another replica');
    const token = bearerToken(metadata);
    if (!token)
      throw new GrpcStatusError(grpc.status.UNAUTHENTICATED, 'missing bearer token in "authorization" metadata');
    let principal: Principal;
    try {
      principal = await this.options.authenticator.verify(token);
    } catch (error) {
      throw new GrpcStatusError(
        grpc.status.UNAUTHENTICATED,
        error instanceof AuthError ? error.message : 'token invalid',
      );
    }
    const tenantId = requestTenant(request);
    if (tenantId !== undefined && !mayAccessTenant(principal, tenantId)) {
      throw new GrpcStatusError(
        grpc.status.PERMISSION_DENIED,
        `${principal.role} of tenant ${principal.tenantId} may not access tenant ${tenantId}`,
      );
    }
    return principal;
  }

  private secure(
    service: string,
    method: string,
    attributes: grpc.MethodDefinition<unknown, unknown>,
    handler: grpc.UntypedHandleCall,
  ): grpc.UntypedHandleCall {
    const log = this.options.logger.child({ rpc: `${service}/${method}` });
    const reject = (error: unknown): Partial<grpc.StatusObject> => {
      const status = toStatus(error);
      if (status.code === grpc.status.INTERNAL) log.error({ err: error }, 'rpc failed');
      return status;
    };
    if (!attributes.requestStream && !attributes.responseStream) {
      const unary = handler as grpc.handleUnaryCall<unknown, unknown>;
      const rpcMethod = attributes.path.replace(/^\//, '');
      return ((call: grpc.ServerUnaryCall<unknown, unknown>, reply: grpc.sendUnaryData<unknown>) => {
        const startedAt = process.hrtime.bigint();
        const callback: grpc.sendUnaryData<unknown> = (error, value) => {
          recordRpc('grpc', rpcMethod, error ? (error.code ?? grpc.status.UNKNOWN) : grpc.status.OK, startedAt);
          reply(error, value);
        };
        this.authorize(call.metadata, call.request).then(
          (principal) =>
            principals.run(principal, () => {
              try {
                unary(call, (error, value) => callback(error ? reject(error) : null, value));
              } catch (error) {
                callback(reject(error));
              }
            }),
          (error: unknown) => callback(reject(error)),
        );
      }) as grpc.UntypedHandleCall;
    }
    const streaming = handler as (call: grpc.ServerWritableStream<unknown, unknown>) => void;
    return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      this.authorize(call.metadata, attributes.requestStream ? undefined : call.request).then(
        (principal) => principals.run(principal, () => streaming(call)),
        (error: unknown) => call.emit('error', reject(error)),
      );
    }) as grpc.UntypedHandleCall;
  }

  async listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  }

  /** Health for the whole server ('') and each service; NOT_SERVING also rejects new RPCs. */
  setServing(serving: boolean): void {
    this.draining = !serving;
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...this.serviceNames]) this.health.setStatus(name, status);
  }

  /** Lets running RPCs finish until the deadline, then cuts the rest. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.setServing(false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, deadlineMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
