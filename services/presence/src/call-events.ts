import { CALLS_STREAM, CallEvents, allTenantsSubject, tenantOfSubject } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { PoisonMessageError, type ConsumerOptions, type DeliveredMessage } from '@switchboard/service-kit';
import type { AgentStore } from './agent-store.js';
import { callAnswered, callEnded } from './transitions.js';

const { LegState } = callV1;

export const CALL_EVENTS_DURABLE = 'presence-call-events';

/**
 * Agents' states from the adapter's call events: a leg tagged `agent_id` that is answered and
 * bridged puts the agent on the call; the call's end sends the agent into the wrap-up of the
 * leg's `department_id`, then back to available. Transitions are no-ops when repeated, so a
 * redelivered event changes nothing twice. A leg naming an agent presence does not know is
 * parked (the directory has not fed that agent yet), after the other legs were applied.
 */
export function callEventConsumer(
  store: AgentStore,
  now: () => Date = () => new Date(),
): Omit<ConsumerOptions, 'stream'> & { stream: typeof CALLS_STREAM } {
  const apply = async (
    tenantId: string,
    leg: callV1.Leg,
    change: (agent: NonNullable<Parameters<typeof callAnswered>[0]>) => ReturnType<typeof callAnswered>,
  ): Promise<string | undefined> => {
    const agentId = leg.tags['agent_id'];
    if (!agentId) return undefined;
    let unknown = false;
    await store.mutate(tenantId, agentId, (current) => {
      if (!current) {
        unknown = true;
        return undefined;
      }
      return change(current);
    });
    return unknown ? agentId : undefined;
  };

  const handler = async (message: DeliveredMessage) => {
    const tenantId = tenantOfSubject(message.subject);
    if (!tenantId) throw new PoisonMessageError(`subject ${message.subject} names no tenant`);
    const unknown: string[] = [];
    if (message.subject.endsWith('.call.leg_updated')) {
      const event = message.decode(CallEvents.legUpdated);
      const leg = event.leg;
      if (leg && event.bridged && leg.state === LegState.LEG_STATE_ANSWERED) {
        const at = now();
        const missing = await apply(tenantId, leg, (agent) =>
          callAnswered(agent, event.callId, leg.tags['department_id'] ?? '', at),
        );
        if (missing) unknown.push(missing);
      }
    } else {
      const event = message.decode(CallEvents.ended);
      for (const leg of event.legs) {
        const at = now();
        const missing = await apply(tenantId, leg, (agent) =>
          callEnded(agent, event.callId, leg.answeredAt !== undefined, at),
        );
        if (missing) unknown.push(missing);
      }
    }
    if (unknown.length > 0) {
      throw new PoisonMessageError(
        `call event names agents unknown to presence in tenant ${tenantId}: ${unknown.join(', ')}`,
      );
    }
  };

  return {
    stream: CALLS_STREAM,
    durable: CALL_EVENTS_DURABLE,
    filterSubjects: [allTenantsSubject('call', 'leg_updated'), allTenantsSubject('call', 'ended')],
    handler,
  };
}
