import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { callControlSubject } from '@switchboard/events';
import { callControlV1, ivrServiceV1 } from '@switchboard/proto';
import { ivrRpcSubject, presenceRpcClient, type PresenceRpcClient } from '@switchboard/rpc-clients';
import { GrpcStatusError, natsRpcClient, type Logger, type NatsHandle, type RpcClient } from '@switchboard/service-kit';
import type { DirectoryLookups } from './directory-lookups.js';
import { ConnectionEvents, resendAcrossOutages } from './flow/resend.js';
import type { MenuStepClient } from './menus.js';
import type { TenantView } from './tenant-directory.js';

// What a call's flow asks: the directory and the menus in memory (mirrored snapshots), presence
// and the adapter over NATS request/reply (the requests that act).

const { evaluateStep } = ivrServiceV1.IvrServiceService;
const IVR_DEFINITION = { evaluateStep };

export type CallControlClient = RpcClient<typeof callControlV1.CallControlServiceService>;

/** Every tenant's view of the directory, the same object until the tenant's next snapshot. */
export interface TenantViews {
  get(tenantId: string): Promise<TenantView>;
}

export interface FlowClients {
  /** ResolveNumber and IsOpen, answered from the mirrored directory snapshot. */
  directory: DirectoryLookups;
  /** Menu steps, evaluated on the mirrored menus. */
  ivr: MenuStepClient;
  presence: PresenceRpcClient;
  /** Call control of the adapter that owns the call; `timeoutMs` covers ringing for Dial/Forward. */
  control(adapterId: string, timeoutMs: number): CallControlClient;
}

/** ivr's EvaluateStep over NATS: only for a menu the mirror does not hold yet (menus.ts). */
export function ivrRpcClient(nats: NatsHandle, timeoutMs: number): MenuStepClient {
  return natsRpcClient(nats, {
    definition: IVR_DEFINITION,
    subjectFor: (method, request) => ivrRpcSubject(request.tenantId, method),
    timeoutMs,
  });
}

export function flowClients(
  nats: NatsHandle,
  timeoutMs: number,
  inMemory: Pick<FlowClients, 'directory' | 'ivr'>,
  logger: Logger,
): FlowClients {
  // One follower of the connection and the take-overs for every command of every call (flow/resend.ts).
  const events = new ConnectionEvents();
  events.follow(nats.connection);
  events.followTakeovers(nats.connection, logger);
  return {
    ...inMemory,
    presence: presenceRpcClient(nats, timeoutMs),
    control: (adapterId, commandTimeoutMs) =>
      resendAcrossOutages(
        natsRpcClient(nats, {
          definition: callControlV1.CallControlServiceService,
          subjectFor: (method, request) => callControlSubject(request.tenantId, adapterId, method),
          timeoutMs: commandTimeoutMs,
        }),
        events,
      ),
  };
}

export function hasStatus(error: unknown, code: grpc.status): boolean {
  return error instanceof GrpcStatusError && error.code === code;
}

/** Errors that mean the other service is not there or did not answer (not a bad request). */
export function isUnavailable(error: unknown): boolean {
  return hasStatus(error, grpc.status.UNAVAILABLE) || hasStatus(error, grpc.status.DEADLINE_EXCEEDED);
}

export const NOT_FOUND = grpc.status.NOT_FOUND;

export function commandId(callId: string, name?: string): string {
  return `${callId}:${name ?? randomUUID()}`;
}
