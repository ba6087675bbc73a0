import * as grpc from '@grpc/grpc-js';
import { errors, headers as newHeaders, type Msg, type Subscription } from '@nats-io/nats-core';
import { SpanKind } from '@opentelemetry/api';
import { SubjectError, tenantOfSubject } from '@switchboard/events';
import { GrpcStatusError } from '../grpc-server.js';
import type { Logger } from '../logger.js';
import { rpcTimer } from '../metrics.js';
import { isPermissionViolation, type NatsHandle } from './connection.js';
import { withProcessSpan, withPublishSpan } from './trace-headers.js';

// Request/reply over NATS for the per-call hot path, driven by the same ts-proto service
// definitions as gRPC: one handler object serves both transports. Errors travel as gRPC status
// codes in headers, so callers see the same GrpcStatusError either way.

type UnaryDefinition = Record<
  string,
  {
    /** `/package.Service/Method`, as ts-proto's grpc-js definitions carry it. */
    path?: string;
    requestSerialize(value: never): Buffer;
    requestDeserialize(value: Buffer): unknown;
    responseSerialize(value: never): Buffer;
    responseDeserialize(value: Buffer): unknown;
  }
>;

type RequestOf<M> = M extends { requestDeserialize(value: Buffer): infer R } ? R : never;
type ResponseOf<M> = M extends { responseDeserialize(value: Buffer): infer R } ? R : never;

/** Transport-neutral handlers: one async function per unary method of a service definition. */
export type RpcHandlers<D extends UnaryDefinition> = {
  [K in keyof D]: (request: RequestOf<D[K]>) => Promise<ResponseOf<D[K]>>;
};

export type RpcClient<D extends UnaryDefinition> = {
  [K in keyof D]: (request: RequestOf<D[K]>) => Promise<ResponseOf<D[K]>>;
};

export const RPC_HEADERS = { status: 'Sb-Status', message: 'Sb-Message', notServed: 'Sb-Not-Served' } as const;

/**
 * UNAVAILABLE because no server took the request to its end: nobody served the subject (no
 * responders), or the server stopped serving before it answered (`stopServing`). The caller may
 * send the same request again to whoever serves next — a request that acts carries its own id
 * (call control's command id), so a repeat is recognised. Any other UNAVAILABLE is the server's
 * answer about the work itself (e.g. a phone that cannot be reached).
 */
export class NotServedError extends GrpcStatusError {
  constructor(details: string) {
    super(grpc.status.UNAVAILABLE, details);
  }
}

function methodName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

function requestTenant(request: unknown): string | undefined {
  const tenantId = (request as { tenantId?: unknown } | undefined)?.tenantId;
  return typeof tenantId === 'string' ? tenantId : undefined;
}

const EMPTY = new Uint8Array(0);

type Respond = (data: Uint8Array, opts?: { headers: ReturnType<typeof newHeaders> }) => void;

/** The message's bytes as a Buffer without copying them (the deserializers take Buffers). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function toStatusError(error: unknown): GrpcStatusError {
  return error instanceof GrpcStatusError ? error : new GrpcStatusError(grpc.status.INTERNAL, 'internal error');
}

export interface ServeNatsRpcOptions<D extends UnaryDefinition> {
  definition: D;
  handlers: RpcHandlers<D>;
  /** Subject (wildcards allowed) a method is served on, e.g. `sb.*.callcontrol.adapter-1.Answer`. */
  subjectFor(method: string): string;
  logger: Logger;
  /** Wraps each request so shutdown waits for it (the kit's `track`). */
  track?<T>(work: Promise<T>): Promise<T>;
  queue?: string;
  /**
   * Aborted when this process stops serving before its handlers are done — the adapter at SIGTERM,
   * whose calls outlive it and go to its successor. Every subscription ends, and every request not
   * answered yet is answered at once with a NotServedError, so its caller sends it again to the
   * successor instead of waiting for a reply that would never come; a handler's late result is dropped.
   */
  stopServing?: AbortSignal;
}

/**
 * Serves every method on its subject. The tenant in the subject must be the request's tenant:
 * NATS permissions decide who may publish on `sb.<tenant>.…`, so this keeps one tenant's
 * requests from naming another tenant's calls.
 */
export function serveNatsRpc<D extends UnaryDefinition>(
  nats: NatsHandle,
  options: ServeNatsRpcOptions<D>,
): Subscription[] {
  const { definition, handlers, logger, stopServing } = options;
  const track = options.track ?? (<T>(work: Promise<T>) => work);
  // What answers each request still being handled when serving stops.
  const unanswered = new Set<() => void>();
  const subscriptions = Object.keys(definition).map((key) => {
    const method = definition[key]!;
    const handler = handlers[key as keyof D] as (request: unknown) => Promise<unknown>;
    const name = methodName(key);
    const recordRpc = rpcTimer('nats', method.path?.replace(/^\//, '') ?? name);
    const fail = (respond: Respond, error: GrpcStatusError, startedAt: bigint) => {
      recordRpc(error.code, startedAt);
      const headers = newHeaders();
      headers.set(RPC_HEADERS.status, String(error.code));
      headers.set(RPC_HEADERS.message, error.details);
      if (error instanceof NotServedError) headers.set(RPC_HEADERS.notServed, '1');
      respond(EMPTY, { headers });
    };
    const handle = async (message: Msg, respond: Respond) => {
      const startedAt = process.hrtime.bigint();
      let request: unknown;
      try {
        request = method.requestDeserialize(asBuffer(message.data));
      } catch {
        return fail(respond, new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `malformed ${name} request`), startedAt);
      }
      const subjectTenant = tenantOfSubject(message.subject);
      if (subjectTenant !== requestTenant(request)) {
        return fail(
          respond,
          new GrpcStatusError(
            grpc.status.PERMISSION_DENIED,
            `request for tenant ${requestTenant(request) ?? '(none)'} sent on ${message.subject}`,
          ),
          startedAt,
        );
      }
      let payload: Uint8Array;
      try {
        const response = await withProcessSpan(
          message.subject,
          message.headers,
          () => handler(request),
          SpanKind.SERVER,
        );
        payload = method.responseSerialize(response as never);
      } catch (error) {
        const status = toStatusError(error);
        if (status.code === grpc.status.INTERNAL) logger.error({ err: error, subject: message.subject }, 'rpc failed');
        return fail(respond, status, startedAt);
      }
      recordRpc(grpc.status.OK, startedAt);
      // A success carries no headers: the caller reads a missing status as OK.
      respond(payload);
    };
    const serve = (message: Msg): Promise<void> => {
      if (!stopServing) return handle(message, (data, opts) => message.respond(data, opts));
      // Answered once: by the handler, or — when serving stops first — at once as not served.
      let answered = false;
      const respond: Respond = (data, opts) => {
        if (answered) return;
        answered = true;
        message.respond(data, opts);
      };
      const startedAt = process.hrtime.bigint();
      return new Promise<void>((resolve) => {
        const stop = () => {
          fail(respond, new NotServedError(`${name} not served: the server stopped before it answered`), startedAt);
          resolve();
        };
        unanswered.add(stop);
        void handle(message, respond).finally(() => {
          unanswered.delete(stop);
          resolve();
        });
      });
    };
    return nats.connection.subscribe(options.subjectFor(name), {
      ...(options.queue ? { queue: options.queue } : {}),
      callback: (error, message) => {
        if (error) return logger.error({ err: error }, 'rpc subscription failed');
        void track(serve(message));
      },
    });
  });
  stopServing?.addEventListener(
    'abort',
    () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const stop of [...unanswered]) stop();
      unanswered.clear();
    },
    { once: true },
  );
  return subscriptions;
}

export interface NatsRpcClientOptions<D extends UnaryDefinition> {
  definition: D;
  /** Subject of one call, e.g. from the request's tenant and the owning adapter. */
  subjectFor(method: string, request: RequestOf<D[keyof D]>): string;
  timeoutMs?: number;
}

/** A client whose methods send the request and resolve with the response or a GrpcStatusError. */
export function natsRpcClient<D extends UnaryDefinition>(
  nats: NatsHandle,
  options: NatsRpcClientOptions<D>,
): RpcClient<D> {
  const client: Record<string, (request: unknown) => Promise<unknown>> = {};
  const timeoutMs = options.timeoutMs ?? 5_000;
  // A request naming no tenant (or one no subject can carry) is the caller's bad input, not a fault.
  const subjectOf = (name: string, request: RequestOf<D[keyof D]>): string => {
    try {
      return options.subjectFor(name, request);
    } catch (error) {
      if (error instanceof SubjectError) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, error.message);
      throw error;
    }
  };
  for (const key of Object.keys(options.definition)) {
    const method = options.definition[key]!;
    const name = methodName(key);
    client[key] = async (request) => {
      const subject = subjectOf(name, request as RequestOf<D[keyof D]>);
      const data = method.requestSerialize(request as never);
      let response: Msg;
      try {
        response = await withPublishSpan(
          subject,
          ({ headers }) =>
            nats.connection.request(subject, data, headers ? { timeout: timeoutMs, headers } : { timeout: timeoutMs }),
          SpanKind.CLIENT,
        );
      } catch (error) {
        // Who may call a method is the NATS publish permission on its subject (libs/events).
        if (isPermissionViolation(error)) {
          throw new GrpcStatusError(grpc.status.PERMISSION_DENIED, `this service may not call ${subject} over NATS`);
        }
        // nats.js's own errors carry no call site (noAsyncTraces), so these name the subject.
        if (error instanceof errors.RequestError && error.isNoResponders()) {
          throw new NotServedError(`nobody serves ${subject}`);
        }
        if (error instanceof errors.TimeoutError) {
          throw new GrpcStatusError(grpc.status.DEADLINE_EXCEEDED, `no reply on ${subject} within ${timeoutMs} ms`);
        }
        throw new GrpcStatusError(
          grpc.status.DEADLINE_EXCEEDED,
          `no reply on ${subject}: ${String((error as Error).message ?? error)}`,
        );
      }
      const status = response.headers?.get(RPC_HEADERS.status);
      if (status) {
        const message = response.headers?.get(RPC_HEADERS.message) ?? '';
        if (response.headers?.get(RPC_HEADERS.notServed)) throw new NotServedError(message);
        throw new GrpcStatusError(Number(status) as grpc.status, message);
      }
      return method.responseDeserialize(asBuffer(response.data));
    };
  }
  return client as RpcClient<D>;
}

/** The same handlers as a grpc-js implementation, for `GrpcServer.addService`. */
export function grpcImplementation<D extends UnaryDefinition>(
  definition: D,
  handlers: RpcHandlers<D>,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const key of Object.keys(definition)) {
    const handler = handlers[key as keyof D] as (request: unknown) => Promise<unknown>;
    implementation[key] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handler(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => callback(error as grpc.ServiceError),
      );
    }) as grpc.UntypedHandleCall;
  }
  return implementation;
}
