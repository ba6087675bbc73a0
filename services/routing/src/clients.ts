import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { callControlSubject } from '@switchboard/events';
import { callControlV1, ivrServiceV1 } from '@switchboard/proto';
import {
  directoryRpcClient,
  ivrRpcSubject,
  presenceRpcClient,
  type DirectoryRpcClient,
  type PresenceRpcClient,
} from '@switchboard/rpc-clients';
import { GrpcStatusError, natsRpcClient, type NatsHandle, type RpcClient } from '@switchboard/service-kit';

// The services a call's flow talks to, all over NATS request/reply (the hot path).

const { evaluateStep } = ivrServiceV1.IvrServiceService;
const IVR_DEFINITION = { evaluateStep };

export type IvrRpcClient = RpcClient<typeof IVR_DEFINITION>;
export type CallControlClient = RpcClient<typeof callControlV1.CallControlServiceService>;

export interface FlowClients {
  directory: DirectoryRpcClient;
  ivr: IvrRpcClient;
  presence: PresenceRpcClient;
  /** Call control of the adapter that owns the call; `timeoutMs` covers ringing for Dial/Forward. */
  control(adapterId: string, timeoutMs: number): CallControlClient;
}

export function flowClients(nats: NatsHandle, timeoutMs: number): FlowClients {
  return {
    directory: directoryRpcClient(nats, timeoutMs),
    ivr: natsRpcClient(nats, {
      definition: IVR_DEFINITION,
      subjectFor: (method, request) => ivrRpcSubject(request.tenantId, method),
      timeoutMs,
    }),
    presence: presenceRpcClient(nats, timeoutMs),
    control: (adapterId, commandTimeoutMs) =>
      natsRpcClient(nats, {
        definition: callControlV1.CallControlServiceService,
        subjectFor: (method, request) => callControlSubject(request.tenantId, adapterId, method),
        timeoutMs: commandTimeoutMs,
      }),
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
