import * as grpc from '@grpc/grpc-js';
import { presenceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';

// Every state change of an agent as a pure function of the stored agent and the clock. A function
// returns the next agent, or undefined when nothing changes (so redelivered events and repeated
// requests are no-ops). Writes happen elsewhere, revision-checked.

type Agent = presenceV1.Agent;
const { AgentState } = presenceV1;

function withState(agent: Agent, state: presenceV1.AgentState, now: Date): Agent {
  return { ...agent, state, stateSince: now };
}

function available(agent: Agent, now: Date, idleSince: Date | undefined): Agent {
  return {
    ...withState(agent, AgentState.AGENT_STATE_AVAILABLE, now),
    assignment: undefined,
    wrapUpUntil: undefined,
    phoneBusyUntil: undefined,
    otherCallIds: [],
    idleSince,
  };
}

/**
 * Wrap-up after a call of the department. A call for no department (direct dial, internal,
 * outbound) gets the longest wrap-up of the agent's departments: each department's wrap-up is
 * the time its members get before its next call, and only the longest keeps every one of them.
 */
export function wrapUpSeconds(agent: Agent, departmentId: string): number {
  if (departmentId === '') return Math.max(0, ...agent.departments.map((membership) => membership.wrapUpSeconds));
  return agent.departments.find((membership) => membership.departmentId === departmentId)?.wrapUpSeconds ?? 0;
}

/** On another call still: the next one becomes the agent's call, without wrap-up in between. */
function nextCall(agent: Agent, lastEndedCallId: string): Agent {
  const [callId, ...others] = agent.otherCallIds;
  return {
    ...agent,
    assignment: { reservationId: '', callId: callId!, departmentId: '', leaseExpiresAt: undefined },
    otherCallIds: others,
    lastEndedCallId,
  };
}

/** After work on a call: wrap-up for the department's time, or available at once. */
function afterCall(agent: Agent, now: Date): Agent {
  const departmentId = agent.assignment?.departmentId ?? '';
  const seconds = wrapUpSeconds(agent, departmentId);
  const lastEndedCallId = agent.assignment?.callId || agent.lastEndedCallId;
  if (agent.otherCallIds.length > 0) return nextCall(agent, lastEndedCallId);
  if (seconds <= 0) return { ...available(agent, now, now), lastEndedCallId };
  return {
    ...withState(agent, AgentState.AGENT_STATE_WRAP_UP, now),
    assignment: undefined,
    wrapUpUntil: new Date(now.getTime() + seconds * 1_000),
    lastEndedCallId,
  };
}

export function newAgent(profile: presenceV1.UpsertAgentRequest, now: Date): Agent {
  return presenceV1.Agent.fromPartial({
    ...profile,
    state: AgentState.AGENT_STATE_OFFLINE,
    stateSince: now,
  });
}

export function updateProfile(agent: Agent, profile: presenceV1.UpsertAgentRequest): Agent {
  return {
    ...agent,
    displayName: profile.displayName,
    departments: profile.departments,
    skills: profile.skills,
    devices: profile.devices,
    homeOfficeNumber: profile.homeOfficeNumber,
  };
}

/** The agent's own choice: available, away or offline. */
export function setState(agent: Agent, state: presenceV1.AgentState, now: Date): Agent | undefined {
  if (agent.state === state) return undefined;
  switch (state) {
    case AgentState.AGENT_STATE_AVAILABLE:
      if (agent.state === AgentState.AGENT_STATE_RINGING || agent.state === AgentState.AGENT_STATE_ON_CALL) {
        throw new GrpcStatusError(
          grpc.status.FAILED_PRECONDITION,
          `agent ${agent.agentId} is ${stateName(agent.state)}; the call or reservation sets it free`,
        );
      }
      return available(agent, now, now);
    case AgentState.AGENT_STATE_AWAY:
    case AgentState.AGENT_STATE_OFFLINE:
      // A reservation in progress is dropped: confirming it fails and routing tries the next agent.
      return {
        ...withState(agent, state, now),
        assignment: undefined,
        wrapUpUntil: undefined,
        phoneBusyUntil: undefined,
        otherCallIds: [],
      };
    default:
      throw new GrpcStatusError(
        grpc.status.INVALID_ARGUMENT,
        `state must be AVAILABLE, AWAY or OFFLINE, not ${stateName(state)}`,
      );
  }
}

export function setHomeOffice(agent: Agent, enabled: boolean, number: string): Agent | undefined {
  const homeOfficeNumber = number || agent.homeOfficeNumber;
  if (enabled && !homeOfficeNumber) {
    throw new GrpcStatusError(
      grpc.status.FAILED_PRECONDITION,
      `agent ${agent.agentId} has no home office number; send one with the request`,
    );
  }
  if (agent.homeOffice === enabled && agent.homeOfficeNumber === homeOfficeNumber) return undefined;
  return { ...agent, homeOffice: enabled, homeOfficeNumber };
}

export interface ReservationTerms {
  reservationId: string;
  callId: string;
  departmentId: string;
  leaseMs: number;
}

export function reserve(agent: Agent, terms: ReservationTerms, now: Date): Agent {
  return {
    ...withState(agent, AgentState.AGENT_STATE_RINGING, now),
    assignment: {
      reservationId: terms.reservationId,
      callId: terms.callId,
      departmentId: terms.departmentId,
      leaseExpiresAt: new Date(now.getTime() + terms.leaseMs),
    },
    lastReservedAt: { ...agent.lastReservedAt, [terms.departmentId]: now },
  };
}

function holds(agent: Agent, reservationId: string): boolean {
  return reservationId !== '' && agent.assignment?.reservationId === reservationId;
}

function notHeld(agent: Agent, reservationId: string): GrpcStatusError {
  return new GrpcStatusError(
    grpc.status.FAILED_PRECONDITION,
    `reservation ${reservationId} no longer holds agent ${agent.agentId} (expired or released)`,
  );
}

/** The reserved agent answered: on call under the same reservation, no lease any more. */
function answered(agent: Agent, now: Date): Agent {
  return {
    ...withState(agent, AgentState.AGENT_STATE_ON_CALL, now),
    assignment: { ...agent.assignment!, leaseExpiresAt: undefined },
  };
}

/**
 * Confirm: the agent answered. Repeating it, or confirming after the answered leg's event did the
 * same (callAnswered), is a no-op.
 */
export function confirm(agent: Agent, reservationId: string, now: Date): Agent | undefined {
  if (!holds(agent, reservationId)) throw notHeld(agent, reservationId);
  if (agent.state === AgentState.AGENT_STATE_ON_CALL) return undefined;
  return answered(agent, now);
}

/** On the call under this reservation already: Confirm has nothing left to do. */
export function confirmed(agent: Agent, reservationId: string): boolean {
  return holds(agent, reservationId) && agent.state === AgentState.AGENT_STATE_ON_CALL;
}

export function renew(agent: Agent, reservationId: string, leaseMs: number, now: Date): Agent {
  if (!holds(agent, reservationId) || agent.state !== AgentState.AGENT_STATE_RINGING) {
    throw notHeld(agent, reservationId);
  }
  return { ...agent, assignment: { ...agent.assignment!, leaseExpiresAt: new Date(now.getTime() + leaseMs) } };
}

/** Ends a reservation or a call; undefined when the reservation no longer holds the agent. */
export function release(agent: Agent, reservationId: string, wrapUp: boolean, now: Date): Agent | undefined {
  if (!holds(agent, reservationId)) return undefined;
  if (wrapUp || agent.state === AgentState.AGENT_STATE_ON_CALL) return afterCall(agent, now);
  // Rang but took no call: the agent keeps its place in the longest-idle order.
  return available(agent, now, agent.idleSince);
}

/**
 * The reserved agent's phone answered busy: held out of offers for `busyMs`, so waiting callers
 * do not re-dial a busy phone every few seconds, then available again in the same idle place.
 */
export function phoneBusy(agent: Agent, reservationId: string, busyMs: number, now: Date): Agent | undefined {
  if (agent.state !== AgentState.AGENT_STATE_RINGING || busyMs <= 0) return release(agent, reservationId, false, now);
  if (!holds(agent, reservationId)) return undefined;
  return {
    ...withState(agent, AgentState.AGENT_STATE_PHONE_BUSY, now),
    assignment: undefined,
    phoneBusyUntil: new Date(now.getTime() + busyMs),
  };
}

/** The sweeper's step: an expired lease, a finished wrap-up or busy back-off makes the agent available. */
export function expire(agent: Agent, now: Date): Agent | undefined {
  const held = agent.state === AgentState.AGENT_STATE_RINGING || agent.state === AgentState.AGENT_STATE_PHONE_BUSY;
  if (held && deadlineOf(agent)! <= now.getTime()) {
    return available(agent, now, agent.idleSince);
  }
  if (agent.state === AgentState.AGENT_STATE_WRAP_UP && deadlineOf(agent)! <= now.getTime()) {
    return available(agent, now, now);
  }
  return undefined;
}

/** When the agent's state ends by itself (lease, wrap-up or busy back-off), in ms since the epoch. */
export function deadlineOf(agent: Agent): number | undefined {
  if (agent.state === AgentState.AGENT_STATE_RINGING) return agent.assignment?.leaseExpiresAt?.getTime() ?? 0;
  if (agent.state === AgentState.AGENT_STATE_WRAP_UP) return agent.wrapUpUntil?.getTime() ?? 0;
  if (agent.state === AgentState.AGENT_STATE_PHONE_BUSY) return agent.phoneBusyUntil?.getTime() ?? 0;
  return undefined;
}

/**
 * A leg of the agent's is up (call event): answered and bridged, or their own phone calling.
 * For the call the agent is reserved for (ringing) it is exactly what Confirm does, so routing
 * need not confirm: whichever of the two comes first puts the agent on call, the other finds
 * nothing to change. An agent already on another call keeps it and notes this one beside it.
 */
export function callAnswered(agent: Agent, callId: string, departmentId: string, now: Date): Agent | undefined {
  if (agent.lastEndedCallId === callId || agent.otherCallIds.includes(callId)) return undefined;
  if (agent.state === AgentState.AGENT_STATE_ON_CALL) {
    if (agent.assignment?.callId === callId) return undefined;
    return { ...agent, otherCallIds: [...agent.otherCallIds, callId] };
  }
  if (agent.state === AgentState.AGENT_STATE_RINGING && agent.assignment?.callId === callId) {
    return answered(agent, now);
  }
  // A call without a reservation: a direct dial or the agent's own call, or one whose lease ran
  // out before the answer reached presence.
  return {
    ...withState(agent, AgentState.AGENT_STATE_ON_CALL, now),
    assignment: { reservationId: '', callId, departmentId, leaseExpiresAt: undefined },
    wrapUpUntil: undefined,
    phoneBusyUntil: undefined,
  };
}

/**
 * A call of the agent's ended (call event): after the assignment's call, wrap-up (or the next
 * call the agent is still on); a call beside it is just forgotten. Calls the agent is not on
 * leave the agent alone. Unanswered, a call of the agent's own (no reservation) ends without
 * wrap-up and the agent keeps their place in the longest-idle order.
 */
export function callEnded(agent: Agent, callId: string, answered: boolean, now: Date): Agent | undefined {
  if (callId === '') return undefined;
  if (agent.otherCallIds.includes(callId)) {
    return { ...agent, otherCallIds: agent.otherCallIds.filter((other) => other !== callId) };
  }
  if (agent.assignment?.callId !== callId) return undefined;
  const confirmed = agent.state === AgentState.AGENT_STATE_ON_CALL && agent.assignment.reservationId !== '';
  if (answered || confirmed) return afterCall(agent, now);
  if (agent.otherCallIds.length > 0) return nextCall(agent, callId);
  return { ...available(agent, now, agent.idleSince), lastEndedCallId: callId };
}

export function stateName(state: presenceV1.AgentState): string {
  return presenceV1.agentStateToJSON(state).replace('AGENT_STATE_', '');
}
