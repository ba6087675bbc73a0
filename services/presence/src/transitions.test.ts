import { presenceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { candidates } from './strategies.js';
import {
  callAnswered,
  callEnded,
  confirm,
  confirmed,
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

  it('the answered leg of a reserved agent does what Confirm does, whichever comes first', () => {
    const ringing = reserve(agent('anna', 0), terms, at(1));
    const byEvent = callAnswered(ringing, 'call-1', 'registry', at(2))!;
    expect(byEvent).toEqual(confirm(ringing, 'r1', at(2)));
    expect(byEvent).toMatchObject({
      state: AgentState.AGENT_STATE_ON_CALL,
      stateSince: at(2),
      assignment: { reservationId: 'r1', callId: 'call-1', departmentId: 'registry', leaseExpiresAt: undefined },
    });
    expect(deadlineOf(byEvent)).toBeUndefined();
    expect(confirm(byEvent, 'r1', at(3))).toBeUndefined();
    expect([confirmed(ringing, 'r1'), confirmed(byEvent, 'r1'), confirmed(byEvent, 'r2')]).toEqual([
      false,
      true,
      false,
    ]);
    expect(callAnswered(confirm(ringing, 'r1', at(2))!, 'call-1', 'registry', at(3))).toBeUndefined();
    // Not the call the agent rings for (another caller's leg): no reservation taken over.
    expect(callAnswered(ringing, 'call-2', '', at(2))?.assignment).toMatchObject({
      reservationId: '',
      callId: 'call-2',
    });
    expect(release(byEvent, 'r1', true, at(4))).toMatchObject({ state: AgentState.AGENT_STATE_WRAP_UP });
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
    const wanted = {
      departmentId: 'registry',
      strategy: Strategy.STRATEGY_LONGEST_IDLE,
      requiredSkills: [],
      waitedSeconds: undefined,
    };
    expect([...candidates([busy, agent('bert', 9)], { ...wanted, excludeAgentIds: [] })].map((a) => a.agentId)).toEqual(
      ['bert'],
    );
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
    const wanted = { departmentId: 'registry', requiredSkills: [], excludeAgentIds: [], waitedSeconds: undefined };
    const ids = (strategy: presenceV1.Strategy) =>
      [...candidates(agents, { ...wanted, strategy })].map((a) => a.agentId);
    expect(ids(Strategy.STRATEGY_LONGEST_IDLE)).toEqual(['c', 'a', 'e']);
    expect(ids(Strategy.STRATEGY_ROUND_ROBIN)).toEqual(['a', 'c', 'e']);
  });

  it('offers the best tier with a free member first, with every strategy; a higher tier after the delay', () => {
    const member = (priority: number, tierDelaySeconds = 0) => [
      { departmentId: 'registry', wrapUpSeconds: 0, priority, tierDelaySeconds },
    ];
    const skilled = [{ name: 'english', priority: 1 }];
    const agents = [
      agent('t1-busy', 0, { departments: member(1, 20), state: AgentState.AGENT_STATE_ON_CALL, skills: skilled }),
      agent('t2-b', 2, { departments: member(2, 20), skills: skilled }),
      agent('t2-a', 3, { departments: member(2, 20), skills: skilled }),
      agent('t3', 1, { departments: member(3, 20), skills: skilled }),
    ];
    const wanted = { departmentId: 'registry', requiredSkills: ['english'], excludeAgentIds: [] };
    const ids = (strategy: presenceV1.Strategy, waitedSeconds: number | undefined, list = agents) =>
      [...candidates(list, { ...wanted, strategy, waitedSeconds })].map((a) => a.agentId);
    // Tier 1's only member is on a call: tier 2 is offered once the caller waited 20 s, tier 3 never.
    for (const strategy of [
      Strategy.STRATEGY_LONGEST_IDLE,
      Strategy.STRATEGY_ROUND_ROBIN,
      Strategy.STRATEGY_RING_ALL,
      Strategy.STRATEGY_SKILLS,
    ]) {
      expect(ids(strategy, 19)).toEqual([]);
      expect(ids(strategy, 20).sort()).toEqual(['t2-a', 't2-b']);
      // A request that does not say how long the caller waited is not held back.
      expect(ids(strategy, undefined).sort()).toEqual(['t2-a', 't2-b']);
    }
    expect(ids(Strategy.STRATEGY_LONGEST_IDLE, 20)).toEqual(['t2-b', 't2-a']);
    expect(ids(Strategy.STRATEGY_ROUND_ROBIN, 20)).toEqual(['t2-a', 't2-b']);
    // A free tier-1 member is offered at once, alone.
    const free = agents.map((a) => (a.agentId === 't1-busy' ? { ...a, state: AgentState.AGENT_STATE_AVAILABLE } : a));
    expect(ids(Strategy.STRATEGY_RING_ALL, 0, free)).toEqual(['t1-busy']);
    // Excluded (it did not answer this caller) counts as not free: the next tier after the delay.
    expect(
      [
        ...candidates(free, {
          ...wanted,
          strategy: Strategy.STRATEGY_LONGEST_IDLE,
          waitedSeconds: 25,
          excludeAgentIds: ['t1-busy'],
        }),
      ].map((a) => a.agentId),
    ).toEqual(['t2-b', 't2-a']);
    // Without a delay the next tier is offered as soon as no lower one is free.
    const noDelay = agents.map((a) => ({ ...a, departments: member(a.departments[0]!.priority ?? 0) }));
    expect(ids(Strategy.STRATEGY_LONGEST_IDLE, 0, noDelay)).toEqual(['t2-b', 't2-a']);
  });

  it('keeps an agent on call while any of their calls lasts; own calls get the longest wrap-up', () => {
    const twoDepartments = [
      { departmentId: 'registry', wrapUpSeconds: 30, priority: 0, tierDelaySeconds: 0 },
      { departmentId: 'permits', wrapUpSeconds: 90, priority: 0, tierDelaySeconds: 0 },
    ];
    const queueCall = callAnswered(
      reserve(agent('anna', 0, { departments: twoDepartments }), terms, at(1)),
      'call-1',
      'registry',
      at(2),
    )!;
    // An enquiry call from her phone during the queue call, and its redelivery.
    const both = callAnswered(queueCall, 'own-1', '', at(3))!;
    expect(both).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, otherCallIds: ['own-1'] });
    expect(both.assignment?.callId).toBe('call-1');
    expect(callAnswered(both, 'own-1', '', at(4))).toBeUndefined();
    // The queue call ends first: still on her own call, no wrap-up yet.
    const stillOn = release(both, 'r1', true, at(5))!;
    expect(stillOn).toMatchObject({
      state: AgentState.AGENT_STATE_ON_CALL,
      otherCallIds: [],
      lastEndedCallId: 'call-1',
    });
    expect(stillOn.assignment).toMatchObject({ callId: 'own-1', departmentId: '', reservationId: '' });
    expect(callEnded(stillOn, 'call-1', true, at(6))).toBeUndefined();
    // Her own call for no department: the longest wrap-up of her departments.
    const wrapUp = callEnded(stillOn, 'own-1', true, at(10))!;
    expect(wrapUp).toMatchObject({ state: AgentState.AGENT_STATE_WRAP_UP, wrapUpUntil: at(100) });
    // The other way round: the enquiry ends first and is forgotten; the queue call's wrap-up follows.
    const enquiryOver = callEnded(both, 'own-1', true, at(5))!;
    expect(enquiryOver).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, otherCallIds: [] });
    expect(callEnded(enquiryOver, 'call-1', true, at(6))).toMatchObject({ wrapUpUntil: at(36) });
  });

  it('ends an own call nobody answered without wrap-up, in the same idle place', () => {
    const dialling = callAnswered(agent('anna', 7), 'own-2', '', at(10))!;
    expect(dialling).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, assignment: { reservationId: '' } });
    expect(callEnded(dialling, 'own-2', false, at(20))).toMatchObject({
      state: AgentState.AGENT_STATE_AVAILABLE,
      idleSince: at(7),
      lastEndedCallId: 'own-2',
    });
  });
});
