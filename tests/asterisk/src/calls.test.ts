import { callV1, presenceV1 } from '@switchboard/proto';
import { listAgents, setAgentStates } from '@switchboard/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPbx, type Pbx } from './pbx.js';

// The demo tenant's calls, each placed the same way on a real Asterisk (sipp phones on loopback)
// and on the emulator, and judged by the same events: a difference between the two fails here.

const MAIN_NUMBER = '+494624720';
const { LegKind, LegDisposition, CallDirection } = callV1;
const { AgentState } = presenceV1;

const STANDESAMT = ['s-109', 's-110', 's-111'];
/** Ordnungsamt (main menu 5): two desk phones answer busy; s-119 works from home. */
const ORDNUNGSAMT_BUSY = ['kropp-117', 'kropp-118'];
const KITA = ['s-114', 's-115', 's-116'];

const agentLegs = (ended: callV1.CallEnded) =>
  ended.legs.filter((leg) => leg.kind !== LegKind.LEG_KIND_CALLER && leg.tags['agent_id']);

describe.each(['asterisk', 'emulator'] as const)('demo tenant calls on %s', (kind) => {
  let pbx: Pbx;
  let adminToken: string;
  const presencePort = () => Number(pbx.stack.grpcAddress('presence').split(':')[1]);
  const setStates = (agents: string[], state: presenceV1.AgentState) =>
    setAgentStates(presencePort(), adminToken, pbx.stack.tenantId, agents, state);

  /** The one call the caller number started, once it has ended. */
  const endedCallFrom = (from: string) =>
    pbx.events.waitUntil(`call.ended of the call from ${from}`, () => {
      const started = pbx.events.started().find((event) => event.callerLeg?.from === from);
      return started && pbx.events.ended(started.callId)[0];
    });

  beforeAll(async () => {
    pbx = await startPbx(kind, {
      phones: Object.fromEntries(ORDNUNGSAMT_BUSY.map((device) => [device, { busy: true }])),
      carrier: { answerAfterMs: 300 },
      services: ['directory', 'ivr', 'presence', 'rating', 'ari-adapter', 'routing'],
    });
    adminToken = await pbx.stack.token();
  });

  afterAll(async () => {
    await pbx?.stop();
  });

  it('takes a citizen who presses 2, 1 in the main menu to a colleague of the Standesamt', async () => {
    const from = '+4915200000001';
    await pbx.call({
      from,
      to: MAIN_NUMBER,
      dtmf: [
        { atMs: 1_500, digit: '2' },
        { atMs: 3_000, digit: '1' },
      ],
      hangupAfterMs: 9_000,
    });
    const ended = await endedCallFrom(from);
    const answered = agentLegs(ended).filter((leg) => leg.disposition === LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(answered).toHaveLength(1);
    expect(STANDESAMT).toContain(answered[0]!.tags['agent_id']);
  });

  it('skips colleagues whose phones answer busy, and the caller never hears busy', async () => {
    await setStates(['s-119'], AgentState.AGENT_STATE_AWAY);
    const from = '+4915200000002';
    const call = pbx.call({ from, to: MAIN_NUMBER, dtmf: [{ atMs: 1_500, digit: '5' }], hangupAfterMs: 14_000 });
    await pbx.events.waitUntil('both busy desk phones were rung', () =>
      ORDNUNGSAMT_BUSY.every((device) => pbx.invitesTo(device) > 0),
    );
    // Now the colleague at home is free: the caller reaches her through the carrier.
    await setStates(['s-119'], AgentState.AGENT_STATE_AVAILABLE);
    await call;
    const ended = await endedCallFrom(from);
    const legs = agentLegs(ended);
    expect(legs.filter((leg) => leg.disposition === LegDisposition.LEG_DISPOSITION_BUSY).length).toBeGreaterThan(0);
    const answered = legs.filter((leg) => leg.disposition === LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(answered.map((leg) => [leg.tags['agent_id'], leg.kind])).toEqual([
      ['s-119', LegKind.LEG_KIND_FORWARDED_HOME_OFFICE],
    ]);
    const caller = ended.legs.find((leg) => leg.kind === LegKind.LEG_KIND_CALLER)!;
    expect(caller.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
  });

  it('keeps a caller waiting when nobody is free and releases everything when they give up', async () => {
    await setStates(KITA, AgentState.AGENT_STATE_AWAY);
    const from = '+4915200000003';
    await pbx.call({ from, to: MAIN_NUMBER, dtmf: [{ atMs: 1_500, digit: '4' }], hangupAfterMs: 8_000 });
    const ended = await endedCallFrom(from);
    expect(agentLegs(ended)).toEqual([]);
    // While waiting the caller heard music (the shipped default class), not silence.
    const started = pbx.events.started().find((event) => event.callerLeg?.from === from)!;
    expect(await pbx.mohHeard(started)).toContain('default');
    const agents = await listAgents(presencePort(), adminToken, pbx.stack.tenantId, 'kita-verwaltung');
    for (const agent of agents) {
      expect({ agent: agent.agentId, assignment: agent.assignment }).toEqual({
        agent: agent.agentId,
        assignment: undefined,
      });
    }
    await setStates(KITA, AgentState.AGENT_STATE_AVAILABLE);
  });

  it('connects an internal call by extension free of charge and rates an outbound call', async () => {
    await pbx.call({ from: 'kropp-101', device: 'kropp-101', to: '121', hangupAfterMs: 3_000 });
    await pbx.call({ from: 'kropp-101', device: 'kropp-101', to: '043112345678', hangupAfterMs: 3_000 });
    const [internal, outbound] = await pbx.events.waitUntil('both device calls ended', () => {
      const calls = pbx.events
        .started()
        .filter((event) => event.callerLeg?.endpoint.startsWith('PJSIP/kropp-101-'))
        .map((event) => pbx.events.ended(event.callId)[0]);
      return calls.length === 2 && calls.every(Boolean) && (calls as callV1.CallEnded[]);
    });
    expect(internal!.direction).toBe(CallDirection.CALL_DIRECTION_INTERNAL);
    expect(outbound!.direction).toBe(CallDirection.CALL_DIRECTION_OUTBOUND);
    const [internalRated, outboundRated] = await pbx.events.waitUntil('both calls rated', () => {
      const legs = [internal!, outbound!].map((call) => pbx.events.rated(call.callId));
      return legs.every((rated) => rated.length > 0) && legs;
    });
    expect(internalRated!.map((leg) => leg.destinationClass)).toContain('internal');
    expect(internalRated!.every((leg) => Number(leg.amount) === 0)).toBe(true);
    const external = outboundRated!.find((leg) => leg.destination === '+4943112345678');
    expect(external).toMatchObject({ destinationClass: 'de-fixed' });
    expect(external!.durationSeconds).toBeGreaterThanOrEqual(2);
  });

  it('played every prompt of these calls: menus, announcements, queue positions', async () => {
    expect(await pbx.failedSounds()).toEqual([]);
  });
});
