import { AsyncLocalStorage } from 'node:async_hooks';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { loadProtoPackageDefinition } from '@switchboard/proto';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '@switchboard/events';
import { HealthImplementation } from 'grpc-health-check';
import { AuthError, mayAccessTenant, type Authenticator, type Principal } from './auth.js';
import type { Logger } from './logger.js';
import { recordDenial, rpcTimer } from './metrics.js';
import {
  PolicyDenial,
  authorizeCall,
  requestTenant,
  shortMethodName,
  validatePolicy,
  type AnyMethodPolicy,
  type ServicePolicy,
} from './policy.js';

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

/** Stands in for a request whose bytes are not the method's message, so the call can be refused. */
class UndecodableRequest {
  readonly reason: string;
  constructor(error: unknown) {
    this.reason = error instanceof Error ? error.message : 'not a protobuf message';
  }
}

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

function toStatus(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof GrpcStatusError) return { code: error.code, details: error.details };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

export interface GrpcServerOptions {
  authenticator: Authenticator;
  logger: Logger;
  /** .proto files (relative to proto/) served by reflection, e.g. `switchboard/call/v1/call_events.proto`. */
  reflectionProtos?: readonly string[];
  /** Called after a handler succeeded for a method whose policy says `audit: true`. */
  onAudited?: (change: AuditedChange) => void;
}

/** A successful change through an admin API, as passed to `onAudited`. */
export interface AuditedChange {
  /** The name the service was added with, e.g. `switchboard.rating.v1.RatingService`. */
  service: string;
  /** The method as in the proto, e.g. `SetTariff`. */
  method: string;
  principal: Principal;
  /** The request's tenant, or the caller's when the request names none. */
  tenantId: string;
  request: unknown;
}

/**
 * grpc-js server with the standard health service and reflection (both open, for probes and
 * grpcurl); every service added through `addService` needs a bearer JWT, and each call must be
 * allowed by the method's declared policy (role and scope, see policy.ts) before its handler runs.
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

  /**
   * Throws when the policy does not declare every method of the definition (or declares one too many).
   * A request that is not the method's protobuf message is refused as INVALID_ARGUMENT (grpc-js
   * itself would answer INTERNAL, which reads as our failure, not the caller's).
   */
  addService<D extends grpc.ServiceDefinition>(
    name: string,
    definition: D,
    implementation: grpc.UntypedServiceImplementation,
    policy: ServicePolicy<D>,
  ): void {
    validatePolicy(name, definition, policy);
    const policies = policy as unknown as Record<string, AnyMethodPolicy>;
    const secured: grpc.UntypedServiceImplementation = {};
    for (const [method, attributes] of Object.entries(definition)) {
      const handler = implementation[method];
      if (!handler) throw new Error(`${name} has no implementation for ${method}`);
      secured[method] = this.secure(name, attributes, policies[method]!, handler);
    }
    const tolerant: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [method, attributes] of Object.entries(definition)) {
      tolerant[method] = {
        ...attributes,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return attributes.requestDeserialize(bytes) as unknown;
          } catch (error) {
            return new UndecodableRequest(error);
          }
        },
      };
    }
    this.server.addService(tolerant, secured);
    this.serviceNames.push(name);
  }

  private async authorize(
    method: string,
    rpcMethod: string,
    policy: AnyMethodPolicy,
    metadata: grpc.Metadata,
    request: unknown,
  ): Promise<Principal> {
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
    if (request instanceof UndecodableRequest) {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `malformed ${method} request: ${request.reason}`);
    }
    const tenantId = requestTenant(request);
    if (tenantId !== undefined && !TENANT_ID_PATTERN.test(tenantId)) {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `tenant_id must be ${TENANT_ID_RULE}`);
    }
    try {
      await authorizeCall(method, policy, principal, request);
    } catch (error) {
      if (!(error instanceof PolicyDenial)) throw error;
      recordDenial('grpc', rpcMethod, principal.role);
      throw new GrpcStatusError(grpc.status.PERMISSION_DENIED, error.message);
    }
    return principal;
  }

  private audited(service: string, method: string, principal: Principal, request: unknown, log: Logger): void {
    try {
      this.options.onAudited?.({
        service,
        method,
        principal,
        tenantId: requestTenant(request) ?? principal.tenantId,
        request,
      });
    } catch (error) {
      log.error({ err: error }, 'could not record the audited change');
    }
  }

  private secure(
    service: string,
    attributes: grpc.MethodDefinition<unknown, unknown>,
    policy: AnyMethodPolicy,
    handler: grpc.UntypedHandleCall,
  ): grpc.UntypedHandleCall {
    const rpcMethod = attributes.path.replace(/^\//, '');
    const method = shortMethodName(attributes.path);
    const protoMethod = method.slice(method.indexOf('/') + 1);
    const log = this.options.logger.child({ rpc: rpcMethod });
    const recordRpc = rpcTimer('grpc', rpcMethod);
    const reject = (error: unknown): Partial<grpc.StatusObject> => {
      const status = toStatus(error);
      if (status.code === grpc.status.INTERNAL) log.error({ err: error }, 'rpc failed');
      return status;
    };
    if (!attributes.requestStream && !attributes.responseStream) {
      const unary = handler as grpc.handleUnaryCall<unknown, unknown>;
      return ((call: grpc.ServerUnaryCall<unknown, unknown>, reply: grpc.sendUnaryData<unknown>) => {
        const startedAt = process.hrtime.bigint();
        const callback: grpc.sendUnaryData<unknown> = (error, value) => {
          recordRpc(error ? (error.code ?? grpc.status.UNKNOWN) : grpc.status.OK, startedAt);
          reply(error, value);
        };
        this.authorize(method, rpcMethod, policy, call.metadata, call.request).then(
          (principal) =>
            principals.run(principal, () => {
              try {
                unary(call, (error, value) => {
                  if (!error && policy.audit) {
                    const request = policy.auditedRequest?.(call.request as never) ?? call.request;
                    this.audited(service, protoMethod, principal, request, log);
                  }
                  callback(error ? reject(error) : null, value);
                });
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
      const startedAt = process.hrtime.bigint();
      this.authorize(
        method,
        rpcMethod,
        policy,
        call.metadata,
        attributes.requestStream ? undefined : call.request,
      ).then(
        (principal) => principals.run(principal, () => streaming(call)),
        (error: unknown) => {
          const status = reject(error);
          // Only refusals are timed for streams: a stream's duration is its consumer's, not ours.
          recordRpc(status.code ?? grpc.status.UNKNOWN, startedAt);
          call.emit('error', status);
        },
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
