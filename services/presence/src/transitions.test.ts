import { presenceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { candidates } from './strategies.js';
import {
  callAnswered,
  callEnded,
  deadlineOf,
  expire,
  newAgent,
  phoneBusy,
  release,
  reserve,
  setState,
} from './transitions.js';

const { AgentState, Strategy } = presenceV1;
const t0 = new Date('2026-03-02T08:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1_000);

function agent(agentId: string, idleAt: number, extra: Partial<presenceV1.Agent> = {}): presenceV1.Agent {
  const created = newAgent(
    presenceV1.UpsertAgentRequest.fromPartial({
      tenantId: 't-kropp',
      agentId,
      departments: [{ departmentId: 'registry', wrapUpSeconds: 30 }],
      devices: [`PJSIP/${agentId}`],
    }),
    t0,
  );
  return { ...setState(created, AgentState.AGENT_STATE_AVAILABLE, at(idleAt))!, ...extra };
}

const terms = { reservationId: 'r1', callId: 'call-1', departmentId: 'registry', leaseMs: 10_000 };

describe('agent transitions', () => {
  it('ends a call in wrap-up, then available; repeated and foreign events change nothing', () => {
    const onCall = callAnswered(reserve(agent('anna', 0), terms, at(1)), 'call-1', 'registry', at(2))!;
    expect(onCall.assignment).toMatchObject({ reservationId: 'r1', callId: 'call-1' });
    expect(callAnswered(onCall, 'call-1', 'registry', at(3))).toBeUndefined();
    expect(callEnded(onCall, 'call-other', true, at(3))).toBeUndefined();
    const wrapUp = callEnded(onCall, 'call-1', true, at(4))!;
    expect(wrapUp).toMatchObject({ state: AgentState.AGENT_STATE_WRAP_UP, wrapUpUntil: at(34) });
    expect(callEnded(wrapUp, 'call-1', true, at(5))).toBeUndefined();
    expect(callAnswered(wrapUp, 'call-1', 'registry', at(5))).toBeUndefined();
    expect(release(wrapUp, 'r1', true, at(5))).toBeUndefined();
    expect(expire(wrapUp, at(33))).toBeUndefined();
    expect(expire(wrapUp, at(34))).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE, idleSince: at(34) });
  });

  it('keeps the idle place of an agent who rang without a call', () => {
    const ringing = reserve(agent('anna', 7), terms, at(10));
    expect(expire(ringing, at(19))).toBeUndefined();
    expect(expire(ringing, at(20))).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE, idleSince: at(7) });
    expect(release(ringing, 'r1', false, at(12))).toMatchObject({ idleSince: at(7) });
  });

  it('holds an agent whose phone answered busy out of offers for the back-off, in the same idle place', () => {
    const ringing = reserve(agent('anna', 7), terms, at(10));
    expect(phoneBusy(ringing, 'other', 20_000, at(11))).toBeUndefined();
    const busy = phoneBusy(ringing, 'r1', 20_000, at(11))!;
    expect(busy).toMatchObject({ state: AgentState.AGENT_STATE_PHONE_BUSY, phoneBusyUntil: at(31) });
    expect(busy.assignment).toBeUndefined();
    expect(deadlineOf(busy)).toBe(at(31).getTime());
    const wanted = { departmentId: 'registry', strategy: Strategy.STRATEGY_LONGEST_IDLE, requiredSkills: [] };
    expect(candidates([busy, agent('bert', 9)], { ...wanted, excludeAgentIds: [] }).map((a) => a.agentId)).toEqual([
      'bert',
    ]);
    expect(phoneBusy(busy, 'r1', 20_000, at(12))).toBeUndefined();
    expect(expire(busy, at(30))).toBeUndefined();
    const back = expire(busy, at(31))!;
    expect(back).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE, idleSince: at(7) });
    expect(back.phoneBusyUntil).toBeUndefined();
    // No back-off asked for: available at once, as a plain release.
    expect(phoneBusy(ringing, 'r1', 0, at(11))).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE });
    // The agent may end the back-off early from the phone or the portal.
    expect(setState(busy, AgentState.AGENT_STATE_AVAILABLE, at(15))).toMatchObject({
      state: AgentState.AGENT_STATE_AVAILABLE,
      phoneBusyUntil: undefined,
    });
  });

  it('orders candidates by strategy and leaves out the unreachable and the busy', () => {
    const agents = [
      agent('c', 1),
      agent('a', 3),
      agent('b', 2, { devices: [] }),
      agent('d', 0, { state: AgentState.AGENT_STATE_AWAY }),
      agent('e', 4, { lastReservedAt: { registry: at(9) } }),
    ];
    const wanted = { departmentId: 'registry', requiredSkills: [], excludeAgentIds: [] };
    const ids = (strategy: presenceV1.Strategy) => candidates(agents, { ...wanted, strategy }).map((a) => a.agentId);
    expect(ids(Strategy.STRATEGY_LONGEST_IDLE)).toEqual(['c', 'a', 'e']);
    expect(ids(Strategy.STRATEGY_ROUND_ROBIN)).toEqual(['a', 'c', 'e']);
  });
});
