import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

// A call's routing state in the `routing-calls` bucket, key `<tenant>.<callId>`. Every write is
// revision-checked (compare-and-set) so a replica that lost the call — or a cleanup that ended
// it — is noticed at its next step instead of being overwritten.

export type Step =
  | 'entry'
  | 'ivr'
  | 'queued'
  | 'ringing'
  | 'connecting'
  | 'bridged'
  | 'handed-off'
  | 'announcing'
  | 'voicemail'
  | 'ended';

/** Where a call is connected to outside a queue (internal, outbound, IVR extension/external targets). */
export interface ConnectTarget {
  /** `dial` for a device or trunk dial string, `forward` for an E.164 number. */
  via: 'dial' | 'forward';
  endpoint: string;
  callerId: string;
  homeOffice: boolean;
  tags: Record<string, string>;
}

export interface CallState {
  tenantId: string;
  callId: string;
  adapterId: string;
  direction: 'inbound' | 'outbound' | 'internal';
  dialedNumber: string;
  caller: string;
  callerChannel: string;
  /** Epoch ms of the call's arrival (the caller leg's creation); the queue orders by it. */
  startedAt: number;
  step: Step;
  owner: string;
  answered: boolean;
  siteId: string;
  ivr?: {
    menuId: string;
    retryCount: number;
    input: 'enter' | 'digits' | 'timeout';
    digits: string;
    openState: number;
  };
  departmentId?: string;
  enqueuedAt?: number;
  queueKey?: string;
  overflows: number;
  excluded: string[];
  /** Dial attempts so far: part of the dial command id, so a resumed replica repeats the same command. */
  attempt: number;
  agentId?: string;
  reservationId?: string;
  target?: ConnectTarget;
  /** Ring-all: every agent reserved for this ring, each with their own dial target. */
  ringGroup?: Array<{ agentId: string; reservationId: string; target: ConnectTarget }>;
  announcement?: string;
  /** Played before the announcement or the voicemail greeting, e.g. the department's closed notice. */
  notice?: string[];
  /** The voicemail box (a department) that records the caller, and the greeting before the beep. */
  voicemail?: { departmentId: string; greeting: string[] };
  endedReason?: string;
  /**
   * Waits in other queues this call left unanswered before its current one (an overflow, or its
   * department closing, into another department's queue), written with the next `queued`: the
   * service level counts them in their departments.
   */
  earlierWaits?: Array<{ departmentId: string; enqueuedAt: number; endedAt: number }>;
  /** Epoch ms the agent answered a queue call (written with `bridged`): the service level's wait end. */
  answeredAt?: number;
  /** A callback the citizen answered: straight into this department's queue, no IVR. */
  callback?: { departmentId: string; answeredAt: number };
}

/** The reservations a ringing call holds: its ring-all group, or its one agent. */
export function heldReservations(state: CallState): Array<{ agentId: string; reservationId: string }> {
  if (state.ringGroup?.length) return state.ringGroup;
  return state.agentId && state.reservationId ? [{ agentId: state.agentId, reservationId: state.reservationId }] : [];
}

export interface Versioned {
  state: CallState;
  revision: number;
}

export class StateConflictError extends Error {}

export function callKey(tenantId: string, callId: string): string {
  return `${tenantId}.${encodeKeyToken(callId)}`;
}

/** KV key tokens allow `[-/_=a-zA-Z0-9]`; call ids like `1764.12` keep their shape with `_`. */
export function encodeKeyToken(value: string): string {
  return value.replace(/[^-/_=a-zA-Z0-9]/g, '_');
}

function encode(state: CallState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state));
}

export class CallStateStore {
  constructor(readonly kv: KV) {}

  async get(tenantId: string, callId: string): Promise<Versioned | undefined> {
    const entry = await this.kv.get(callKey(tenantId, callId));
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { state: entry.json<CallState>(), revision: entry.revision };
  }

  /** Creates the state; undefined when it already exists. */
  async create(state: CallState): Promise<Versioned | undefined> {
    try {
      const revision = await this.kv.create(callKey(state.tenantId, state.callId), encode(state));
      return { state, revision };
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  /** Writes `state` over `revision`; StateConflictError when someone else wrote in between. */
  async update(state: CallState, revision: number): Promise<Versioned> {
    try {
      const next = await this.kv.update(callKey(state.tenantId, state.callId), encode(state), revision);
      return { state, revision: next };
    } catch (error) {
      if (isWrongRevision(error)) throw new StateConflictError(`call ${state.callId} changed meanwhile`);
      throw error;
    }
  }

  async list(tenantId: string): Promise<CallState[]> {
    const states: CallState[] = [];
    const keys = await this.kv.keys(`${tenantId}.>`);
    for await (const key of keys) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') states.push(entry.json<CallState>());
    }
    return states;
  }
}

export function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
