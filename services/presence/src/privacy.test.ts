import * as grpc from '@grpc/grpc-js';
import { DirectoryEvents } from '@switchboard/events';
import { directoryEventsV1, directoryV1, presenceV1 } from '@switchboard/proto';
import { directoryRpcClient } from '@switchboard/rpc-clients';
import { createLogger, newEventMeta, publishEvent } from '@switchboard/service-kit';
import { eventually } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, TOKENS, adminApi, startHarness, type Harness } from '../test/harness.js';
import { AgentStore } from './agent-store.js';
import { agentCounts, agentStates } from './metrics.js';
import { StatisticsPrivacy } from './privacy.js';

const { AgentState } = presenceV1;
const COUNCIL = 't-council';
const OPEN = 't-open';
const quiet = createLogger({ service: 'presence-privacy-test', level: 'silent' });

let h: Harness;

beforeAll(async () => {
  h = await startHarness(1, { PRESENCE_PER_AGENT_METRICS: 'true' });
  h.setAggregateOnly(COUNCIL, true);
  for (const tenantId of [COUNCIL, OPEN]) {
    const api = await h.api(tenantId);
    for (const agentId of ['anna', 'otto']) {
      await api.upsertAgent({
        tenantId,
        agentId,
        displayName: agentId,
        departments: [{ departmentId: 'registry', wrapUpSeconds: 0, priority: 0, tierDelaySeconds: 0 }],
        devices: [`PJSIP/${tenantId}-${agentId}`],
      });
    }
    await api.setState({ tenantId, agentId: 'anna', state: AgentState.AGENT_STATE_AVAILABLE });
    const [reservation] = (
      await h.rpc.reserve(
        presenceV1.ReserveRequest.fromPartial({
          tenantId,
          departmentId: 'registry',
          callId: 'call-1',
          leaseSeconds: 60,
        }),
      )
    ).reservations;
    await h.rpc.confirm({ tenantId, agentId: 'anna', reservationId: reservation!.reservationId });
  }
});

afterAll(async () => {
  await h?.stop();
});

const as = async (tenantId: string, subject: string, role: 'admin' | 'supervisor' | 'agent' | 'operator') =>
  adminApi(
    h.grpcClient,
    await TOKENS.token({ subject, tenantId, role, ...(role === 'supervisor' ? { departments: ['registry'] } : {}) }),
  );

const FIGURES = ['stateSince', 'idleSince', 'assignment', 'wrapUpUntil', 'phoneBusyUntil'] as const;

describe('aggregate-only statistics', () => {
  it('shows others no working state, no times and no calls of a person', async () => {
    for (const role of ['admin', 'supervisor', 'operator'] as const) {
      const { agents } = await (
        await as(COUNCIL, `${role}-1`, role)
      ).listAgents({
        tenantId: COUNCIL,
        departmentId: 'registry',
      });
      expect(agents.map((agent) => [agent.agentId, agent.state])).toEqual([
        ['anna', AgentState.AGENT_STATE_UNSPECIFIED],
        ['otto', AgentState.AGENT_STATE_OFFLINE],
      ]);
      for (const agent of agents) {
        for (const field of FIGURES) expect(agent[field]).toBeUndefined();
        expect(agent.lastReservedAt).toEqual({});
        expect(agent.displayName).toBe(agent.agentId);
      }
    }
    const { agent } = await (await as(COUNCIL, 'admin-1', 'admin')).getAgent({ tenantId: COUNCIL, agentId: 'anna' });
    expect(agent).toMatchObject({ state: AgentState.AGENT_STATE_UNSPECIFIED, assignment: undefined });
  });

  it('shows the person everything of their own', async () => {
    const { agent } = await (await as(COUNCIL, 'anna', 'agent')).getAgent({ tenantId: COUNCIL, agentId: 'anna' });
    expect(agent).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, assignment: { callId: 'call-1' } });
    expect(agent?.stateSince).toBeInstanceOf(Date);
  });

  it('leaves other tenants as they are', async () => {
    const { agents } = await (await h.api(OPEN)).listAgents({ tenantId: OPEN, departmentId: 'registry' });
    expect(agents.map((agent) => agent.state)).toEqual([
      AgentState.AGENT_STATE_ON_CALL,
      AgentState.AGENT_STATE_OFFLINE,
    ]);
  });

  it('streams only what the view shows: a call starting or ending sends nothing, going away does', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await h.token(COUNCIL)}`);
    const stream = h.grpcClient.watchAgents({ tenantId: COUNCIL, departmentId: 'registry' }, metadata);
    const seen: Array<[string, presenceV1.AgentState]> = [];
    let sawCurrent: () => void;
    const current = new Promise<void>((resolve) => (sawCurrent = resolve));
    const sawAway = new Promise<void>((resolve, reject) => {
      stream.on('data', ({ agent }: presenceV1.WatchAgentsResponse) => {
        seen.push([agent!.agentId, agent!.state]);
        if (seen.length === 2) sawCurrent();
        if (agent!.state === AgentState.AGENT_STATE_AWAY) resolve();
      });
      stream.on('error', reject);
    });
    await current;
    const api = await h.api(COUNCIL);
    const { agent } = await api.getAgent({ tenantId: COUNCIL, agentId: 'anna' });
    expect(agent?.assignment).toBeUndefined();
    // The call ends (from the agent's own view the reservation is known) and the agent goes away.
    const own = await as(COUNCIL, 'anna', 'agent');
    const { agent: whole } = await own.getAgent({ tenantId: COUNCIL, agentId: 'anna' });
    await h.rpc.release({
      tenantId: COUNCIL,
      agentId: 'anna',
      reservationId: whole!.assignment!.reservationId,
      wrapUp: false,
      busySeconds: 0,
    });
    await h.waitForAgent(COUNCIL, 'anna', (stored) => stored.state === AgentState.AGENT_STATE_AVAILABLE);
    await api.setState({ tenantId: COUNCIL, agentId: 'anna', state: AgentState.AGENT_STATE_AWAY });
    await sawAway;
    stream.cancel();
    // First each agent's current view (in key order or not), then only the change to away.
    expect([...seen.slice(0, 2)].sort()).toEqual([
      ['anna', AgentState.AGENT_STATE_UNSPECIFIED],
      ['otto', AgentState.AGENT_STATE_OFFLINE],
    ]);
    expect(seen.slice(2)).toEqual([['anna', AgentState.AGENT_STATE_AWAY]]);
  });

  it('gives no per-person metric series for the tenant; department aggregates stay', async () => {
    const store = await AgentStore.open(h.bus, { bucket: BUCKET, replicas: 1, logger: quiet });
    try {
      const privacy = new StatisticsPrivacy(directoryRpcClient(h.bus), quiet);
      // The first scrape starts loading the tenants' settings; until then no tenant has series.
      expect(agentStates(store, privacy)).toEqual([]);
      const rows = await eventually(() => {
        const states = agentStates(store, privacy);
        return states.length > 0 ? states : undefined;
      }, "the tenants' settings");
      expect([...rows].sort((a, b) => a.agent.localeCompare(b.agent))).toEqual([
        { tenant: OPEN, agent: 'anna', state: 'on_call' },
        { tenant: OPEN, agent: 'otto', state: 'offline' },
      ]);
      const council = agentCounts(store).filter((row) => row.tenant === COUNCIL && row.count > 0);
      expect(council).toEqual([
        { tenant: COUNCIL, department: 'registry', state: 'away', count: 1 },
        { tenant: COUNCIL, department: 'registry', state: 'offline', count: 1 },
      ]);
    } finally {
      await store.close();
    }
  });

  it("follows the directory's change of the setting", async () => {
    await publishEvent(h.bus, DirectoryEvents.tenantChanged, {
      meta: newEventMeta(OPEN, 'directory'),
      change: directoryEventsV1.ChangeKind.CHANGE_KIND_UPDATED,
      tenant: directoryV1.Tenant.fromPartial({
        tenantId: OPEN,
        privacy: { retentionDays: 90, aggregateOnlyStatistics: true },
      }),
      version: '2',
    });
    const api = await h.api(OPEN);
    await eventually(async () => {
      const { agents } = await api.listAgents({ tenantId: OPEN, departmentId: 'registry' });
      return agents[0]?.state === AgentState.AGENT_STATE_UNSPECIFIED ? true : undefined;
    }, 'the open tenant to turn aggregate-only');
  });
});
