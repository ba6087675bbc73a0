import * as grpc from '@grpc/grpc-js';
import { CallEvents, DLQ_STREAM } from '@switchboard/events';
import { callV1, presenceV1 } from '@switchboard/proto';
import {
  GrpcStatusError,
  createLogger,
  natsRpcClient,
  newEventMeta,
  publishEvent,
  type DeliveredMessage,
} from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, TOKENS, adminApi, startHarness, type Harness } from '../test/harness.js';
import { AgentStore } from './agent-store.js';
import { callEventConsumer } from './call-events.js';
import { PRESENCE_RESERVATION_DEFINITION, presenceRpcSubject } from '@switchboard/rpc-clients';

const { AgentState, Strategy } = presenceV1;
const { LegKind, LegState } = callV1;

let h: Harness;
/** One replica: what the ordering tests reserve must not race the other replica's copy. */
let one: Harness;

beforeAll(async () => {
  [h, one] = await Promise.all([startHarness(2), startHarness(1)]);
});

afterAll(async () => Promise.all([h?.stop(), one?.stop()]));

interface AgentSpec {
  id: string;
  departments?: Array<[string, number]>;
  skills?: Array<[string, number]>;
  homeOfficeNumber?: string;
  /** Tier (member priority) and the department's tier delay, in every department. */
  tier?: [number, number];
}

/** Agents of a fresh tenant, made available in the order given (the first has been idle longest). */
async function tenantWith(tenantId: string, agents: AgentSpec[], department = 'registry', on = h) {
  const api = await on.api(tenantId);
  for (const spec of agents) {
    await api.upsertAgent({
      tenantId,
      agentId: spec.id,
      displayName: spec.id,
      departments: (spec.departments ?? [[department, 0]]).map(([departmentId, wrapUpSeconds]) => ({
        departmentId,
        wrapUpSeconds,
        priority: spec.tier?.[0] ?? 0,
        tierDelaySeconds: spec.tier?.[1] ?? 0,
      })),
      skills: (spec.skills ?? []).map(([name, priority]) => ({ name, priority })),
      devices: [`PJSIP/${tenantId}-${spec.id}`],
      homeOfficeNumber: spec.homeOfficeNumber ?? '',
    });
    await api.setState({ tenantId, agentId: spec.id, state: AgentState.AGENT_STATE_AVAILABLE });
  }
  return api;
}

function reserveRequest(tenantId: string, extra: Partial<presenceV1.ReserveRequest> = {}): presenceV1.ReserveRequest {
  return presenceV1.ReserveRequest.fromPartial({ tenantId, departmentId: 'registry', callId: 'call-1', ...extra });
}

/** On the one-replica harness: the ordering tests must not race another replica's copy. */
async function reserveAndRelease(tenantId: string, extra: Partial<presenceV1.ReserveRequest> = {}) {
  const [reservation] = (await one.rpc.reserve(reserveRequest(tenantId, extra))).reservations;
  expect(reservation).toBeDefined();
  await one.rpc.release({
    tenantId,
    agentId: reservation!.agentId,
    reservationId: reservation!.reservationId,
    wrapUp: false,
    busySeconds: 0,
  });
  return reservation!.agentId;
}

describe('presence against real NATS with two replicas', () => {
  it('reports ready while it follows the bucket', async () => {
    for (const replica of h.replicas) {
      const response = await fetch(`http://127.0.0.1:${replica.httpPort}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ready: true, checks: { 'presence-kv-watch': true } });
    }
  });

  it('gives 10 agents to exactly 10 of 200 concurrent reservations', async () => {
    const tenantId = 't-race';
    await tenantWith(
      tenantId,
      Array.from({ length: 10 }, (_, index) => ({ id: `a${index}` })),
    );
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) => h.rpc.reserve(reserveRequest(tenantId, { callId: `c${index}` }))),
    );
    const won = results.flatMap((result) => result.reservations);
    expect(won).toHaveLength(10);
    expect(new Set(won.map((reservation) => reservation.agentId)).size).toBe(10);
    const { agents } = await (await h.api(tenantId)).listAgents({ tenantId, departmentId: 'registry' });
    expect(agents.every((agent) => agent.state === AgentState.AGENT_STATE_RINGING)).toBe(true);
  });

  it('returns an agent whose lease expired, and refuses to confirm the stale reservation', async () => {
    const tenantId = 't-lease';
    await tenantWith(tenantId, [{ id: 'anna' }]);
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId, { leaseSeconds: 1 }))).reservations;
    expect(reservation?.agentId).toBe('anna');
    const back = await h.waitForAgent(tenantId, 'anna', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
    expect(back.assignment).toBeUndefined();
    await expect(
      h.rpc.confirm({ tenantId, agentId: 'anna', reservationId: reservation!.reservationId }),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(
      await h.rpc.release({
        tenantId,
        agentId: 'anna',
        reservationId: reservation!.reservationId,
        wrapUp: false,
        busySeconds: 0,
      }),
    ).toMatchObject({ released: false });
  });

  it('holds an agent whose phone answered busy out of offers, visibly, until the back-off is over', async () => {
    const tenantId = 't-busy';
    await tenantWith(tenantId, [{ id: 'cem', departments: [['registry', 0]] }]);
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId))).reservations;
    const release = { tenantId, agentId: 'cem', reservationId: reservation!.reservationId, wrapUp: false };
    await expect(h.rpc.release({ ...release, busySeconds: -1 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const released = await h.rpc.release({ ...release, busySeconds: 1 });
    expect(released).toMatchObject({ released: true, agent: { state: AgentState.AGENT_STATE_PHONE_BUSY } });
    const api = await h.api(tenantId);
    const [listed] = (await api.listAgents({ tenantId, departmentId: 'registry' })).agents;
    expect(listed).toMatchObject({
      state: AgentState.AGENT_STATE_PHONE_BUSY,
      phoneBusyUntil: released.agent!.phoneBusyUntil,
    });
    expect((await h.rpc.reserve(reserveRequest(tenantId))).reservations).toHaveLength(0);
    const free = await h.waitForAgent(tenantId, 'cem', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
    expect(free.stateSince!.getTime()).toBeGreaterThanOrEqual(released.agent!.phoneBusyUntil!.getTime());
    expect((await h.rpc.reserve(reserveRequest(tenantId))).reservations[0]?.agentId).toBe('cem');
  });

  it('renews a lease and confirms the reservation: on call until released into wrap-up, then available', async () => {
    const tenantId = 't-wrap';
    await tenantWith(tenantId, [{ id: 'ben', departments: [['registry', 1]] }]);
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId, { leaseSeconds: 5 }))).reservations;
    const { leaseExpiresAt } = await h.rpc.renew({
      tenantId,
      agentId: 'ben',
      reservationId: reservation!.reservationId,
      leaseSeconds: 60,
    });
    expect(leaseExpiresAt!.getTime()).toBeGreaterThan(reservation!.leaseExpiresAt!.getTime());
    const { agent } = await h.rpc.confirm({ tenantId, agentId: 'ben', reservationId: reservation!.reservationId });
    expect(agent?.state).toBe(AgentState.AGENT_STATE_ON_CALL);
    const released = await h.rpc.release({
      tenantId,
      agentId: 'ben',
      reservationId: reservation!.reservationId,
      wrapUp: true,
      busySeconds: 0,
    });
    expect(released.agent?.state).toBe(AgentState.AGENT_STATE_WRAP_UP);
    expect((await h.rpc.reserve(reserveRequest(tenantId))).reservations).toHaveLength(0);
    const free = await h.waitForAgent(
      tenantId,
      'ben',
      (candidate) => candidate.state === AgentState.AGENT_STATE_AVAILABLE,
    );
    expect(free.idleSince!.getTime()).toBeGreaterThanOrEqual(released.agent!.wrapUpUntil!.getTime());
  });

  it('confirms and releases at once on any replica what another replica reserved', async () => {
    const tenantId = 't-replicas';
    await tenantWith(tenantId, [{ id: 'anna' }]);
    for (let round = 0; round < 20; round++) {
      const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId, { callId: `c${round}` }))).reservations;
      const held = { tenantId, agentId: 'anna', reservationId: reservation!.reservationId };
      expect((await h.rpc.confirm(held)).agent?.state).toBe(AgentState.AGENT_STATE_ON_CALL);
      expect(await h.rpc.release({ ...held, wrapUp: false, busySeconds: 0 })).toMatchObject({ released: true });
    }
  });

  it('reserves the longest idle agent first', async () => {
    const tenantId = 't-idle';
    await tenantWith(tenantId, [{ id: 'carla' }, { id: 'anna' }, { id: 'ben' }], 'registry', one);
    const order: string[] = [];
    for (let round = 0; round < 4; round++) {
      const [reservation] = (await one.rpc.reserve(reserveRequest(tenantId))).reservations;
      order.push(reservation!.agentId);
      // A finished call puts the agent at the back of the idle order.
      await one.rpc.confirm({ tenantId, agentId: reservation!.agentId, reservationId: reservation!.reservationId });
      await one.rpc.release({
        tenantId,
        agentId: reservation!.agentId,
        reservationId: reservation!.reservationId,
        wrapUp: true,
        busySeconds: 0,
      });
    }
    expect(order).toEqual(['carla', 'anna', 'ben', 'carla']);
  });

  it('rotates round robin in agent-id order, whoever has been idle longest', async () => {
    const tenantId = 't-rr';
    await tenantWith(tenantId, [{ id: 'c' }, { id: 'b' }, { id: 'a' }], 'registry', one);
    const order: string[] = [];
    for (let round = 0; round < 4; round++) {
      order.push(await reserveAndRelease(tenantId, { strategy: Strategy.STRATEGY_ROUND_ROBIN }));
    }
    expect(order).toEqual(['a', 'b', 'c', 'a']);
    expect(await reserveAndRelease(tenantId)).toBe('c');
  });

  it('rings all free members at once', async () => {
    const tenantId = 't-all';
    const api = await tenantWith(
      tenantId,
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'x', departments: [['depot', 0]] }],
      'registry',
      one,
    );
    await api.setState({ tenantId, agentId: 'b', state: AgentState.AGENT_STATE_AWAY });
    const { reservations } = await one.rpc.reserve(reserveRequest(tenantId, { strategy: Strategy.STRATEGY_RING_ALL }));
    expect(reservations.map((reservation) => reservation.agentId).sort()).toEqual(['a', 'c']);
    expect(new Set(reservations.map((reservation) => reservation.reservationId)).size).toBe(1);
  });

  it('picks by skills with priorities, then longest idle', async () => {
    const tenantId = 't-skills';
    await tenantWith(
      tenantId,
      [
        { id: 'a', skills: [['english', 2]] },
        {
          id: 'b',
          skills: [
            ['english', 1],
            ['marriage', 1],
          ],
        },
        { id: 'c', skills: [['english', 1]] },
        { id: 'd' },
      ],
      'registry',
      one,
    );
    const skills = (requiredSkills: string[]) =>
      reserveRequest(tenantId, { strategy: Strategy.STRATEGY_SKILLS, requiredSkills });
    const picked = async (requiredSkills: string[]) =>
      (await one.rpc.reserve(skills(requiredSkills))).reservations.map((reservation) => reservation.agentId);
    expect(await picked(['english', 'marriage'])).toEqual(['b']);
    expect(await picked(['english'])).toEqual(['c']);
    expect(await picked(['english'])).toEqual(['a']);
    expect(await picked(['english'])).toEqual([]);
    await expect(one.rpc.reserve(skills([]))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('offers tier 1 first and the next tier only when tier 1 is busy and the caller waited the tier delay', async () => {
    const tenantId = 't-tiers';
    await tenantWith(tenantId, [
      { id: 'back-a', tier: [5, 10] },
      { id: 'lead', tier: [0, 10] },
      { id: 'back-b', tier: [5, 10] },
    ]);
    const ringAll = async (waitedSeconds?: number) =>
      (
        await h.rpc.reserve(reserveRequest(tenantId, { strategy: Strategy.STRATEGY_RING_ALL, waitedSeconds }))
      ).reservations
        .map((reservation) => reservation.agentId)
        .sort();
    // The back office has been idle longer, but the lead is tier 1.
    expect(await ringAll(0)).toEqual(['lead']);
    // The lead is ringing now: the back office only once the caller waited 10 s.
    expect(await ringAll(9)).toEqual([]);
    expect(await ringAll(10)).toEqual(['back-a', 'back-b']);
    await expect(h.rpc.reserve(reserveRequest(tenantId, { waitedSeconds: -1 }))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it('dials a home-office agent on the external number and skips excluded agents', async () => {
    const tenantId = 't-home';
    const api = await tenantWith(
      tenantId,
      [{ id: 'anna', homeOfficeNumber: '+4915112345678' }, { id: 'ben' }],
      'registry',
      one,
    );
    await api.setHomeOffice({ tenantId, agentId: 'anna', enabled: true, homeOfficeNumber: '' });
    const [home] = (await one.rpc.reserve(reserveRequest(tenantId, { callId: 'c1' }))).reservations;
    expect(home).toMatchObject({ agentId: 'anna', target: { externalNumber: '+4915112345678' } });
    await one.rpc.release({
      tenantId,
      agentId: 'anna',
      reservationId: home!.reservationId,
      wrapUp: false,
      busySeconds: 0,
    });
    const [next] = (await one.rpc.reserve(reserveRequest(tenantId, { callId: 'c1', excludeAgentIds: ['anna'] })))
      .reservations;
    expect(next).toMatchObject({ agentId: 'ben', target: { endpoint: `PJSIP/${tenantId}-ben` } });
  });

  it('follows call events: on call while bridged, wrap-up after the end, then available; redelivery is a no-op', async () => {
    const tenantId = 't-calls';
    await tenantWith(tenantId, [{ id: 'dora', departments: [['registry', 1]] }]);
    const leg = callV1.Leg.fromPartial({
      legId: 'leg-1',
      state: LegState.LEG_STATE_ANSWERED,
      answeredAt: new Date(),
      tags: { agent_id: 'dora', department_id: 'registry' },
    });
    const answered = { callId: 'call-9', leg, bridged: true };
    await publishEvent(h.bus, CallEvents.legUpdated, { meta: newEventMeta(tenantId, 'test'), ...answered });
    const onCall = await h.waitForAgent(tenantId, 'dora', (agent) => agent.state === AgentState.AGENT_STATE_ON_CALL);
    expect(onCall.assignment).toMatchObject({ callId: 'call-9', departmentId: 'registry' });

    const ended = callV1.CallEnded.fromPartial({
      callId: 'call-9',
      legs: [{ ...leg, state: LegState.LEG_STATE_ENDED }],
    });
    await publishEvent(h.bus, CallEvents.ended, { ...ended, meta: newEventMeta(tenantId, 'test') });
    const wrapUp = await h.waitForAgent(tenantId, 'dora', (agent) => agent.state === AgentState.AGENT_STATE_WRAP_UP);
    const free = await h.waitForAgent(tenantId, 'dora', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
    expect(free.lastEndedCallId).toBe('call-9');

    // The same events again (new event ids, so JetStream keeps them) change nothing.
    await publishEvent(h.bus, CallEvents.legUpdated, { meta: newEventMeta(tenantId, 'test'), ...answered });
    await publishEvent(h.bus, CallEvents.ended, { ...ended, meta: newEventMeta(tenantId, 'test') });
    // A marker event for another agent shows the consumer got past both.
    const api = await h.api(tenantId);
    await api.upsertAgent({
      tenantId,
      agentId: 'emil',
      departments: [{ departmentId: 'registry', wrapUpSeconds: 0 }],
      devices: ['PJSIP/e'],
    });
    await publishEvent(h.bus, CallEvents.legUpdated, {
      meta: newEventMeta(tenantId, 'test'),
      callId: 'call-10',
      leg: { ...leg, tags: { agent_id: 'emil' } },
      bridged: true,
    });
    await h.waitForAgent(tenantId, 'emil', (agent) => agent.state === AgentState.AGENT_STATE_ON_CALL);
    const agent = presenceV1.Agent.decode((await h.kv.get(`${tenantId}.dora`))!.value);
    expect(agent.state).toBe(AgentState.AGENT_STATE_AVAILABLE);
    expect(agent.stateSince).toEqual(free.stateSince);
    expect(wrapUp.wrapUpUntil).toBeDefined();
  });

  it('parks a call event naming an agent presence does not know', async () => {
    const tenantId = 't-unknown';
    await publishEvent(h.bus, CallEvents.legUpdated, {
      meta: newEventMeta(tenantId, 'test'),
      callId: 'call-x',
      leg: callV1.Leg.fromPartial({ state: LegState.LEG_STATE_ANSWERED, tags: { agent_id: 'ghost' } }),
      bridged: true,
    });
    const consumer = await h.bus.js.consumers.get(DLQ_STREAM.name, { filter_subjects: [`sb.${tenantId}.dlq.>`] });
    const parked = await consumer.next({ expires: 20_000 });
    expect(parked?.subject).toBe(`sb.${tenantId}.dlq.presence-call-events`);
  });

  it('streams state changes of a department from the KV watch', async () => {
    const tenantId = 't-watch';
    const api = await tenantWith(tenantId, [{ id: 'anna' }, { id: 'otto', departments: [['depot', 0]] }]);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await h.token(tenantId)}`);
    const stream = h.grpcClient.watchAgents({ tenantId, departmentId: 'registry' }, metadata);
    const seen: Array<[string, presenceV1.AgentState]> = [];
    let sawCurrent: () => void;
    // The stream starts with the department's current agents; changes made before that arrives
    // would already be in it, so the test changes states only once it is there.
    const current = new Promise<void>((resolve) => (sawCurrent = resolve));
    const sawAway = new Promise<void>((resolve, reject) => {
      stream.on('data', ({ agent }: presenceV1.WatchAgentsResponse) => {
        seen.push([agent!.agentId, agent!.state]);
        sawCurrent();
        if (agent!.state === AgentState.AGENT_STATE_AWAY) resolve();
      });
      stream.on('error', reject);
    });
    await current;
    await api.setState({ tenantId, agentId: 'otto', state: AgentState.AGENT_STATE_AWAY });
    await api.setState({ tenantId, agentId: 'anna', state: AgentState.AGENT_STATE_AWAY });
    await sawAway;
    stream.cancel();
    expect(seen).toEqual([
      ['anna', AgentState.AGENT_STATE_AVAILABLE],
      ['anna', AgentState.AGENT_STATE_AWAY],
    ]);
  });

  it('keeps tenants apart on gRPC and NATS', async () => {
    await tenantWith('t-one', [{ id: 'anna' }]);
    await tenantWith('t-two', [{ id: 'zoe' }]);
    const two = await h.api('t-two');
    await expect(two.getAgent({ tenantId: 't-one', agentId: 'anna' })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(two.getAgent({ tenantId: 't-two', agentId: 'anna' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    const [mine] = (await h.rpc.reserve(reserveRequest('t-two'))).reservations;
    expect(mine?.agentId).toBe('zoe');
    expect((await h.rpc.reserve(reserveRequest('t-two'))).reservations).toHaveLength(0);
    // A request on one tenant's subject that names another tenant is refused.
    const smuggler = natsRpcClient(h.bus, {
      definition: PRESENCE_RESERVATION_DEFINITION,
      subjectFor: (method) => presenceRpcSubject('t-two', method),
    });
    await expect(smuggler.reserve(reserveRequest('t-one'))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const { agent } = await (await h.api('t-one')).getAgent({ tenantId: 't-one', agentId: 'anna' });
    expect(agent?.state).toBe(AgentState.AGENT_STATE_AVAILABLE);
  });

  it('rejects a bad profile with every problem named, and state changes the agent may not make', async () => {
    const tenantId = 't-bad';
    const api = await tenantWith(tenantId, [{ id: 'anna' }]);
    const error = await api
      .upsertAgent({
        tenantId,
        agentId: 'bob',
        departments: [{ departmentId: 'a.b', wrapUpSeconds: -1 }],
        homeOfficeNumber: '0461 123',
      })
      .catch((caught: grpc.ServiceError) => caught);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((error as grpc.ServiceError).details).toMatch(
      /departments\.0\.departmentId.*wrapUpSeconds.*homeOfficeNumber/,
    );
    await expect(
      api.setState({ tenantId, agentId: 'anna', state: AgentState.AGENT_STATE_ON_CALL }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId))).reservations;
    await expect(
      api.setState({ tenantId, agentId: 'anna', state: AgentState.AGENT_STATE_AVAILABLE }),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect(reservation).toBeDefined();
    await expect(h.rpc.confirm({ tenantId, agentId: 'nobody', reservationId: 'r' })).rejects.toBeInstanceOf(
      GrpcStatusError,
    );
  });
});

/** A leg as the adapter publishes it, answered now. */
function answeredLeg(fields: Partial<callV1.Leg>): callV1.Leg {
  return callV1.Leg.fromPartial({ state: LegState.LEG_STATE_ANSWERED, answeredAt: new Date(), ...fields });
}

function publishEnded(tenantId: string, callId: string, legs: callV1.Leg[]) {
  return publishEvent(h.bus, CallEvents.ended, {
    ...callV1.CallEnded.fromPartial({
      callId,
      legs: legs.map((leg) => ({ ...leg, state: LegState.LEG_STATE_ENDED, endedAt: new Date() })),
    }),
    meta: newEventMeta(tenantId, 'test'),
  });
}

describe('who may change an agent', () => {
  it('lets an agent set only their own state, and a supervisor only the agents of their departments', async () => {
    const tenantId = 't-roles';
    await tenantWith(tenantId, [
      { id: 'anna', departments: [['buergerbuero', 0]] },
      { id: 'bernd', departments: [['bauhof', 0]] },
    ]);
    const as = async (principal: Parameters<typeof TOKENS.token>[0]) =>
      adminApi(h.grpcClient, await TOKENS.token(principal));
    const refusal = (details: string) => ({ code: grpc.status.PERMISSION_DENIED, details });
    const away = (agentId: string) => ({ tenantId, agentId, state: AgentState.AGENT_STATE_AWAY });

    const anna = await as({ subject: 'anna', tenantId, role: 'agent' });
    expect((await anna.setState(away('anna'))).agent?.state).toBe(AgentState.AGENT_STATE_AWAY);
    await expect(anna.setState(away('bernd'))).rejects.toMatchObject(
      refusal('agent may call PresenceService/SetState only in scope self (agentId)'),
    );
    await expect(anna.upsertAgent({ tenantId, agentId: 'anna', displayName: 'Anna' })).rejects.toMatchObject(
      refusal('agent may not call PresenceService/UpsertAgent (allowed: admin, operator)'),
    );

    const lead = await as({ subject: 'lead', tenantId, role: 'supervisor', departments: ['buergerbuero'] });
    const back = await lead.setState({ tenantId, agentId: 'anna', state: AgentState.AGENT_STATE_AVAILABLE });
    expect(back.agent?.state).toBe(AgentState.AGENT_STATE_AVAILABLE);
    await expect(lead.setState(away('bernd'))).rejects.toMatchObject(
      refusal('supervisor may call PresenceService/SetState only in scope agent of own departments'),
    );
    expect((await h.api(tenantId).then((admin) => admin.getAgent({ tenantId, agentId: 'bernd' }))).agent?.state).toBe(
      AgentState.AGENT_STATE_AVAILABLE,
    );
  });
});

describe('availability on every call of a staff member', () => {
  const tenantId = 't-lines';
  const home = '+4915112345678';
  const trunkCaller = answeredLeg({ kind: LegKind.LEG_KIND_CALLER, endpoint: 'PJSIP/trunk-0000a001' });

  beforeAll(async () => {
    // Each in a department of their own, so "nobody free" there means they were not offered.
    const api = await tenantWith(tenantId, [
      { id: 'ada', departments: [['registry', 1]] },
      { id: 'bo', departments: [['permits', 1]], homeOfficeNumber: home },
    ]);
    await api.setHomeOffice({ tenantId, agentId: 'bo', enabled: true, homeOfficeNumber: '' });
  });

  /** Whether a queue call of the department would be offered to someone (released again at once). */
  const offered = async (departmentId: string) => {
    const { reservations } = await h.rpc.reserve(reserveRequest(tenantId, { departmentId }));
    for (const { agentId, reservationId } of reservations) {
      await h.rpc.release({ tenantId, agentId, reservationId, wrapUp: false, busySeconds: 0 });
    }
    return reservations.length > 0;
  };

  /** Runs `call` while following the agents, then checks each went on call, wrap-up, available. */
  async function expectOnCallThenFree(agentIds: string[], call: (onCall: () => Promise<void>) => Promise<void>) {
    const followers = await Promise.all(agentIds.map((agentId) => h.followAgent(tenantId, agentId)));
    try {
      await call(async () => {
        for (const follower of followers) await follower.reach(AgentState.AGENT_STATE_ON_CALL);
        expect(await offered('registry')).toBe(!agentIds.includes('ada'));
        expect(await offered('permits')).toBe(!agentIds.includes('bo'));
      });
      for (const follower of followers) {
        const wrapUp = await follower.reach(AgentState.AGENT_STATE_WRAP_UP);
        expect(wrapUp.otherCallIds).toEqual([]);
        await follower.reach(AgentState.AGENT_STATE_AVAILABLE);
      }
    } finally {
      followers.forEach((follower) => follower.stop());
    }
  }

  it('a direct dial to the desk phone', async () => {
    const desk = answeredLeg({ kind: LegKind.LEG_KIND_INTERNAL, endpoint: `PJSIP/${tenantId}-ada` });
    await expectOnCallThenFree(['ada'], async (onCall) => {
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'direct-1',
        leg: desk,
        bridged: true,
      });
      await onCall();
      await publishEnded(tenantId, 'direct-1', [trunkCaller, desk]);
    });
  });

  it('an internal call from one desk phone to another: both', async () => {
    const from = answeredLeg({ kind: LegKind.LEG_KIND_CALLER, endpoint: `PJSIP/${tenantId}-ada-0000b00c` });
    const to = answeredLeg({ kind: LegKind.LEG_KIND_INTERNAL, endpoint: `PJSIP/${tenantId}-bo` });
    await expectOnCallThenFree(['ada', 'bo'], async (onCall) => {
      // The caller is on the phone from the moment the call starts, before anyone answers.
      await publishEvent(h.bus, CallEvents.started, {
        ...callV1.CallStarted.fromPartial({
          callId: 'internal-1',
          callerLeg: { ...from, state: LegState.LEG_STATE_RINGING, answeredAt: undefined },
          direction: callV1.CallDirection.CALL_DIRECTION_INTERNAL,
        }),
        meta: newEventMeta(tenantId, 'test'),
      });
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'internal-1',
        leg: to,
        bridged: true,
      });
      await onCall();
      await publishEnded(tenantId, 'internal-1', [from, to]);
    });
  });

  it('an outbound call from the desk phone', async () => {
    const from = answeredLeg({ kind: LegKind.LEG_KIND_CALLER, endpoint: `PJSIP/${tenantId}-ada-0000c0de` });
    const external = answeredLeg({ kind: LegKind.LEG_KIND_EXTERNAL, endpoint: 'PJSIP/+494621234@trunk' });
    await expectOnCallThenFree(['ada'], async (onCall) => {
      await publishEvent(h.bus, CallEvents.started, {
        ...callV1.CallStarted.fromPartial({
          callId: 'outbound-1',
          callerLeg: { ...from, state: LegState.LEG_STATE_RINGING, answeredAt: undefined },
          direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND,
        }),
        meta: newEventMeta(tenantId, 'test'),
      });
      await onCall();
      await publishEnded(tenantId, 'outbound-1', [from, external]);
    });
  });

  it('a call forwarded to the home-office number', async () => {
    const forwarded = answeredLeg({
      kind: LegKind.LEG_KIND_FORWARDED_HOME_OFFICE,
      endpoint: `PJSIP/${home}@trunk`,
      to: home,
    });
    await expectOnCallThenFree(['bo'], async (onCall) => {
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'home-1',
        leg: forwarded,
        bridged: true,
      });
      await onCall();
      await publishEnded(tenantId, 'home-1', [trunkCaller, forwarded]);
    });
  });

  it('a direct dial routing tagged with the staff id, on a phone the directory does not list', async () => {
    const softphone = answeredLeg({
      kind: LegKind.LEG_KIND_INTERNAL,
      endpoint: 'PJSIP/unlisted-softphone',
      tags: { staff_id: 'ada' },
    });
    await expectOnCallThenFree(['ada'], async (onCall) => {
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'direct-2',
        leg: softphone,
        bridged: true,
      });
      await onCall();
      await publishEnded(tenantId, 'direct-2', [trunkCaller, softphone]);
    });
  });

  it('the answered leg of a queue call confirms the reservation; a Confirm after it changes nothing', async () => {
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId, { callId: 'queue-0', leaseSeconds: 60 })))
      .reservations;
    expect(reservation?.agentId).toBe('ada');
    const held = { tenantId, agentId: 'ada', reservationId: reservation!.reservationId };
    const desk = answeredLeg({
      kind: LegKind.LEG_KIND_INTERNAL,
      endpoint: `PJSIP/${tenantId}-ada`,
      tags: { agent_id: 'ada', department_id: 'registry' },
    });
    await expectOnCallThenFree(['ada'], async (onCall) => {
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'queue-0',
        leg: desk,
        bridged: true,
      });
      await onCall();
      const confirmed = await h.waitForAgent(
        tenantId,
        'ada',
        (agent) => agent.state === AgentState.AGENT_STATE_ON_CALL,
      );
      expect(confirmed.assignment).toEqual({
        reservationId: held.reservationId,
        callId: 'queue-0',
        departmentId: 'registry',
        leaseExpiresAt: undefined,
      });
      const before = (await h.kv.get(`${tenantId}.ada`))!.revision;
      expect((await h.rpc.confirm(held)).agent?.state).toBe(AgentState.AGENT_STATE_ON_CALL);
      expect((await h.kv.get(`${tenantId}.ada`))!.revision).toBe(before);
      await publishEnded(tenantId, 'queue-0', [trunkCaller, desk]);
    });
  });

  it('a queue call to the desk phone, tagged too, counts once; a call of someone away leaves them away', async () => {
    const [reservation] = (await h.rpc.reserve(reserveRequest(tenantId, { callId: 'queue-1' }))).reservations;
    expect(reservation?.agentId).toBe('ada');
    const held = { tenantId, agentId: 'ada', reservationId: reservation!.reservationId };
    const desk = answeredLeg({
      kind: LegKind.LEG_KIND_INTERNAL,
      endpoint: `PJSIP/${tenantId}-ada`,
      tags: { agent_id: 'ada', department_id: 'registry' },
    });
    await expectOnCallThenFree(['ada'], async (onCall) => {
      await h.rpc.confirm(held);
      await publishEvent(h.bus, CallEvents.legUpdated, {
        meta: newEventMeta(tenantId, 'test'),
        callId: 'queue-1',
        leg: desk,
        bridged: true,
      });
      await onCall();
      await h.rpc.release({ ...held, wrapUp: true, busySeconds: 0 });
      await publishEnded(tenantId, 'queue-1', [trunkCaller, desk]);
    });

    const api = await h.api(tenantId);
    await api.setState({ tenantId, agentId: 'ada', state: AgentState.AGENT_STATE_AWAY });
    const from = answeredLeg({ kind: LegKind.LEG_KIND_CALLER, endpoint: `PJSIP/${tenantId}-ada-0000d00d` });
    await publishEvent(h.bus, CallEvents.started, {
      ...callV1.CallStarted.fromPartial({
        callId: 'outbound-away',
        callerLeg: from,
        direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND,
      }),
      meta: newEventMeta(tenantId, 'test'),
    });
    await publishEnded(tenantId, 'outbound-away', [from]);
    // A marker call for bo shows the consumer got past both events.
    const marker = answeredLeg({ kind: LegKind.LEG_KIND_INTERNAL, endpoint: `PJSIP/${tenantId}-bo` });
    await publishEvent(h.bus, CallEvents.legUpdated, {
      meta: newEventMeta(tenantId, 'test'),
      callId: 'marker-1',
      leg: marker,
      bridged: true,
    });
    await h.waitForAgent(tenantId, 'bo', (agent) => agent.state === AgentState.AGENT_STATE_ON_CALL);
    const ada = presenceV1.Agent.decode((await h.kv.get(`${tenantId}.ada`))!.value);
    expect(ada.state).toBe(AgentState.AGENT_STATE_AWAY);
    await publishEnded(tenantId, 'marker-1', [marker]);
  });
});

describe('late call events', () => {
  it('ignores a redelivered event that would put the agent back on a call that has ended since', async () => {
    const tenantId = 't-late';
    await tenantWith(tenantId, [{ id: 'eve', departments: [['registry', 0]] }]);
    const store = await AgentStore.open(h.bus, {
      bucket: BUCKET,
      replicas: 1,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    try {
      const { handler } = callEventConsumer(store);
      const leg = answeredLeg({ kind: LegKind.LEG_KIND_INTERNAL, endpoint: 'PJSIP/desk', tags: { staff_id: 'eve' } });
      /** A delivery as the kit hands it over, at a CALLS stream sequence. */
      const delivered = (
        event: 'leg_updated' | 'ended',
        streamSequence: number,
        deliveryCount: number,
        data: Uint8Array,
      ) =>
        ({
          subject: `sb.${tenantId}.call.${event}`,
          data,
          headers: undefined,
          deliveryCount,
          streamSequence,
          decode: (type) => type.codec.decode(data),
        }) as DeliveredMessage;
      const up = (callId: string, sequence: number, deliveryCount = 1) =>
        handler(
          delivered(
            'leg_updated',
            sequence,
            deliveryCount,
            callV1.CallLegUpdated.encode({ meta: newEventMeta(tenantId, 'test'), callId, leg, bridged: true }).finish(),
          ),
        );
      const ended = (callId: string, sequence: number) =>
        handler(
          delivered(
            'ended',
            sequence,
            1,
            callV1.CallEnded.encode(
              callV1.CallEnded.fromPartial({
                meta: newEventMeta(tenantId, 'test'),
                callId,
                legs: [{ ...leg, state: LegState.LEG_STATE_ENDED, endedAt: new Date() }],
              }),
            ).finish(),
          ),
        );
      const state = async () => {
        await store.catchUp();
        return store.get(tenantId, 'eve')!.agent;
      };
      await up('call-x', 10);
      expect(await state()).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, lastCallEventSequence: '10' });
      await ended('call-x', 11);
      await up('call-y', 12);
      await ended('call-y', 13);
      expect(await state()).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE, lastEndedCallId: 'call-y' });
      // call-x's answer again (its ack was lost): its call is over, the agent stays free.
      await up('call-x', 10, 2);
      expect(await state()).toMatchObject({ state: AgentState.AGENT_STATE_AVAILABLE, lastCallEventSequence: '13' });
      // A new call's answer still counts.
      await up('call-z', 14);
      expect((await state()).state).toBe(AgentState.AGENT_STATE_ON_CALL);
      await ended('call-z', 15);
    } finally {
      store.close();
    }
  });
});
