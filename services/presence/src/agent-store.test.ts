import { presenceV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStore } from './agent-store.js';
import { confirm, newAgent, reserve, setState } from './transitions.js';

const { AgentState } = presenceV1;
const logger = createLogger({ service: 'presence-store-test', level: 'silent' });

let nats: NatsServer;
let bus: NatsHandle;
let writer: AgentStore;
let lagging: AgentStore;

beforeAll(async () => {
  nats = await startNats();
  bus = await connectNats({ url: nats.url, credentials: nats.credentials(TESTER), name: 'store-test', logger });
  writer = await AgentStore.open(bus, { bucket: 'store-test', replicas: 1, logger });
  lagging = await AgentStore.open(bus, { bucket: 'store-test', replicas: 1, logger });
});

afterAll(async () => {
  writer?.close();
  lagging?.close();
  await bus?.connection.close();
  await nats?.stop();
});

describe('agent store', () => {
  it("decides on the bucket, not on a replica's stale copy", async () => {
    const now = new Date();
    const profile = presenceV1.UpsertAgentRequest.fromPartial({
      tenantId: 't-kropp',
      agentId: 'anna',
      departments: [{ departmentId: 'registry', wrapUpSeconds: 0 }],
      devices: ['PJSIP/anna'],
    });
    await writer.mutate('t-kropp', 'anna', () =>
      setState(newAgent(profile, now), AgentState.AGENT_STATE_AVAILABLE, now),
    );
    await lagging.catchUp();
    expect(lagging.get('t-kropp', 'anna')?.agent.state).toBe(AgentState.AGENT_STATE_AVAILABLE);

    // The second store stops following the bucket: its copy still says "available".
    lagging.close();
    const terms = { reservationId: 'r1', callId: 'c1', departmentId: 'registry', leaseMs: 30_000 };
    await writer.mutate('t-kropp', 'anna', (agent) => agent && reserve(agent, terms, now));
    expect(lagging.get('t-kropp', 'anna')?.agent.state).toBe(AgentState.AGENT_STATE_AVAILABLE);

    // Confirming on the stale copy would be refused ("not held"); the store re-reads and confirms.
    const confirmed = await lagging.mutate('t-kropp', 'anna', (agent) => agent && confirm(agent, 'r1', now));
    expect(confirmed).toMatchObject({ changed: true, agent: { state: AgentState.AGENT_STATE_ON_CALL } });
    // A refusal that holds on the bucket too stays a refusal.
    await expect(lagging.mutate('t-kropp', 'anna', (agent) => agent && confirm(agent, 'r0', now))).rejects.toThrow(
      /reservation r0 no longer holds agent anna/,
    );
  });

  it("keeps each department's members, on the replica that wrote and on one that follows", async () => {
    const now = new Date();
    const agentIn = (agentId: string, ...departments: string[]) =>
      newAgent(
        presenceV1.UpsertAgentRequest.fromPartial({
          tenantId: 't-members',
          agentId,
          departments: departments.map((departmentId) => ({ departmentId, wrapUpSeconds: 0 })),
          devices: [`PJSIP/${agentId}`],
        }),
        now,
      );
    const follower = await AgentStore.open(bus, { bucket: 'store-test', replicas: 1, logger });
    try {
      await writer.mutate('t-members', 'anna', () => agentIn('anna', 'registry', 'permits'));
      await writer.mutate('t-members', 'ben', () => agentIn('ben', 'registry'));
      await writer.mutate(
        't-members',
        'anna',
        (agent) => agent && { ...agent, departments: agentIn('anna', 'permits').departments },
      );
      await writer.mutate(
        't-members',
        'ben',
        (agent) => agent && setState(agent, AgentState.AGENT_STATE_AVAILABLE, now),
      );
      await writer.remove('t-members', 'ben');
      await writer.mutate('t-members', 'cem', () => agentIn('cem', 'registry'));
      await follower.catchUp();
      for (const store of [writer, follower]) {
        const ids = (departmentId: string) =>
          store.departmentMembers('t-members', departmentId).map((agent) => agent.agentId);
        expect(ids('registry')).toEqual(['cem']);
        expect(ids('permits')).toEqual(['anna']);
        expect(ids('depot')).toEqual([]);
      }
    } finally {
      follower.close();
    }
  });
});
