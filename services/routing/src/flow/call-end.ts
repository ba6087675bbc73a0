import type { callV1 } from '@switchboard/proto';

// How a call's local flow ends before routing is done with it, and what call.ended tells.

/** The caller is gone (hung up, or the adapter no longer knows the call). */
export class CallGone extends Error {}
/** This replica is stopping: the call is checkpointed and handed to another replica. */
export class Handover extends Error {}
/**
 * Another replica took the call over (this one was found dead, or lost a race): this one stops
 * acting on it and writes nothing. A Handover for every step that lets a handover through.
 */
export class TakenOver extends Handover {}

/** The agent whose leg (tagged by routing) was answered in the ended call, if any. */
export function answeredAgentIn(ended: callV1.CallEnded | undefined): string | undefined {
  return ended?.legs.find((leg) => leg.tags['agent_id'] && leg.answeredAt)?.tags['agent_id'];
}

/** When an agent's leg (tagged by routing) was answered in the ended call, in epoch ms. */
export function agentAnswerTime(ended: callV1.CallEnded | undefined): number | undefined {
  return ended?.legs.find((leg) => leg.tags['agent_id'] && leg.answeredAt)?.answeredAt?.getTime();
}

/** Whether an agent's leg (tagged by routing) was answered in the ended call. */
export function agentAnsweredIn(ended: callV1.CallEnded | undefined): boolean {
  return answeredAgentIn(ended) !== undefined;
}
