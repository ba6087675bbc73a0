import { CALLS_STREAM, CallEvents, allTenantsSubject, tenantOfSubject } from '@switchboard/events';
import { callV1, presenceV1 } from '@switchboard/proto';
import { PoisonMessageError, type ConsumerOptions, type DeliveredMessage } from '@switchboard/service-kit';
import type { AgentStore } from './agent-store.js';
import { homeOfficeLine } from './lines.js';
import { KeyedSerial } from './serial.js';
import { callAnswered, callEnded } from './transitions.js';

type Agent = presenceV1.Agent;
const { LegKind, LegState } = callV1;
const { AgentState } = presenceV1;

export const CALL_EVENTS_DURABLE = 'presence-call-events';

/** Asterisk names a channel `<tech>/<endpoint>-<8 hex digits>`; a caller leg's endpoint is that name. */
const CHANNEL_SUFFIX = /-[0-9a-f]{8}$/;

/** The device or home-office line a leg reaches, for the legs that can be a staff member's. */
function lineOf(leg: callV1.Leg): string | undefined {
  switch (leg.kind) {
    case LegKind.LEG_KIND_CALLER:
      return leg.endpoint.replace(CHANNEL_SUFFIX, '');
    case LegKind.LEG_KIND_INTERNAL:
      return leg.endpoint;
    case LegKind.LEG_KIND_FORWARDED_HOME_OFFICE:
      return homeOfficeLine(leg.to);
    default:
      return undefined;
  }
}

/**
 * Whose leg it is: the agent routing offered the call to (`agent_id`), the staff member it
 * connected directly (`staff_id`: a direct dial or internal call), else the owner of the device
 * or number it reaches. Only `agent_id` marks a queue offer (`tagged`).
 */
function ownerOf(
  store: AgentStore,
  tenantId: string,
  leg: callV1.Leg,
): { agentId: string; tagged: boolean } | undefined {
  const tagged = leg.tags['agent_id'];
  if (tagged) return { agentId: tagged, tagged: true };
  const staffId = leg.tags['staff_id'];
  if (staffId) return { agentId: staffId, tagged: false };
  const line = lineOf(leg);
  const agentId = line === undefined ? undefined : store.ownerOf(tenantId, line);
  return agentId === undefined ? undefined : { agentId, tagged: false };
}

/** A leg that was talked on: answered, and for a caller's own leg, someone answered them too. */
function talked(leg: callV1.Leg, legs: readonly callV1.Leg[]): boolean {
  if (leg.answeredAt === undefined) return false;
  return leg.kind !== LegKind.LEG_KIND_CALLER || legs.some((other) => other !== leg && other.answeredAt !== undefined);
}

interface Change {
  tagged: boolean;
  /** Puts the agent on a call: refused when older than a call event that changed the agent. */
  up: boolean;
  apply(agent: Agent): Agent | undefined;
}

/**
 * Agents' states from the adapter's call events, for every leg that is a staff member's: tagged
 * `agent_id` or `staff_id` by routing, or reaching one of their devices (a direct dial or internal call to
 * them), their home-office number (a forwarded call), or calling from their device (the caller
 * leg of their own outbound or internal call). While such a leg is up (answered and bridged; a
 * caller leg from the call's start) the agent is ON_CALL; the call's end sends them into wrap-up
 * (the leg's `department_id`, else the longest of their departments), then back to available.
 * Each event changes an agent at most once, however many of its legs are theirs. A call on a
 * device of someone away or offline leaves them so. Transitions are no-ops when repeated, so a
 * redelivered event changes nothing twice; and an event that would put the agent on a call but is
 * older (CALLS stream sequence) than one that changed them is ignored: delivered late (its ack
 * lost, or retried after a failure), its call may have ended since. So acks need no round trip. A leg tagged `agent_id` naming an agent presence does
 * not know is parked (the directory has not fed that agent yet), after the other legs were
 * applied; any other leg of someone presence does not know is nobody's.
 */
export function callEventConsumer(
  store: AgentStore,
  now: () => Date = () => new Date(),
): Omit<ConsumerOptions, 'stream'> & { stream: typeof CALLS_STREAM } {
  const upChange = (callId: string, leg: callV1.Leg, tagged: boolean, at: Date): Change => ({
    tagged,
    up: true,
    apply: (agent) => {
      const away = agent.state === AgentState.AGENT_STATE_AWAY || agent.state === AgentState.AGENT_STATE_OFFLINE;
      if (!tagged && away) return undefined;
      return callAnswered(agent, callId, leg.tags['department_id'] ?? '', at);
    },
  });

  /** The changes one event makes, by agent. */
  const changesOf = (tenantId: string, message: DeliveredMessage): Map<string, Change> => {
    const changes = new Map<string, Change>();
    const at = now();
    const up = (callId: string, leg: callV1.Leg) => {
      const owner = ownerOf(store, tenantId, leg);
      if (owner) changes.set(owner.agentId, upChange(callId, leg, owner.tagged, at));
    };
    if (message.subject.endsWith('.call.started')) {
      const event = message.decode(CallEvents.started);
      if (event.callerLeg) up(event.callId, event.callerLeg);
    } else if (message.subject.endsWith('.call.leg_updated')) {
      const { callId, leg, bridged } = message.decode(CallEvents.legUpdated);
      if (leg?.state === LegState.LEG_STATE_ANSWERED && (bridged || leg.kind === LegKind.LEG_KIND_CALLER)) {
        up(callId, leg);
      }
    } else {
      const event = message.decode(CallEvents.ended);
      const ended = new Map<string, { tagged: boolean; answered: boolean }>();
      for (const leg of event.legs) {
        const owner = ownerOf(store, tenantId, leg);
        if (!owner) continue;
        const seen = ended.get(owner.agentId);
        ended.set(owner.agentId, {
          tagged: owner.tagged || (seen?.tagged ?? false),
          answered: talked(leg, event.legs) || (seen?.answered ?? false),
        });
      }
      for (const [agentId, { tagged, answered }] of ended) {
        changes.set(agentId, { tagged, up: false, apply: (agent) => callEnded(agent, event.callId, answered, at) });
      }
    }
    return changes;
  };

  const perAgent = new KeyedSerial();
  const handler = async (message: DeliveredMessage) => {
    const tenantId = tenantOfSubject(message.subject);
    if (!tenantId) throw new PoisonMessageError(`subject ${message.subject} names no tenant`);
    const unknown: string[] = [];
    const sequence = message.streamSequence;
    const apply = async (agentId: string, change: Change) => {
      let missing = false;
      await store.mutate(tenantId, agentId, (current) => {
        if (!current) {
          missing = change.tagged;
          return undefined;
        }
        const newest = Number(current.lastCallEventSequence);
        if (change.up && sequence < newest) return undefined;
        const next = change.apply(current);
        return next && { ...next, lastCallEventSequence: String(Math.max(sequence, newest)) };
      });
      if (missing) unknown.push(agentId);
    };
    // Queued per agent before the first await: handlers start in delivery order, so each agent's
    // changes apply in the stream's order while other agents' calls go on beside them.
    await Promise.all(
      [...changesOf(tenantId, message)].map(([agentId, change]) =>
        perAgent.run(`${tenantId}.${agentId}`, () => apply(agentId, change)),
      ),
    );
    if (unknown.length > 0) {
      throw new PoisonMessageError(
        `call event names agents unknown to presence in tenant ${tenantId}: ${unknown.join(', ')}`,
      );
    }
  };

  return {
    stream: CALLS_STREAM,
    durable: CALL_EVENTS_DURABLE,
    filterSubjects: [
      allTenantsSubject('call', 'started'),
      allTenantsSubject('call', 'leg_updated'),
      allTenantsSubject('call', 'ended'),
    ],
    handler,
    ack: 'fire-and-forget',
    // Several calls' events at once: fewer pull requests and socket writes per message.
    concurrency: 16,
  };
}
