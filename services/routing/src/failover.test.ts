import { Kvm, type KV } from '@nats-io/kv';
import { presenceV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TENANT, type Stack } from '../test/harness.js';
import { device, loadTenant, NUMBERS } from '../test/tenant.js';
import { callKey, type CallState } from './call-state.js';

// Two routing replicas share the work: a replica killed with SIGKILL (or stopped with SIGTERM)
// while a caller waits in the queue must not lose the call.

const { AgentState } = presenceV1;
const talk = { answerAfterMs: 1_000, hangupAfterMs: 4_000 };

let stack: Stack;
let states: KV;

async function stateOf(callId: string): Promise<CallState | undefined> {
  const entry = await states.get(callKey(TENANT, callId));
  return entry?.operation === 'PUT' ? entry.json<CallState>() : undefined;
}

/** Resolves with the call's state once a write of it matches (a KV watch of its key). */
async function waitForState(callId: string, match: (state: CallState) => boolean): Promise<CallState> {
  const watch = await states.watch({ key: callKey(TENANT, callId) });
  try {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT') continue;
      const state = entry.json<CallState>();
      if (match(state)) return state;
    }
  } finally {
    watch.stop();
  }
  throw new Error(`the state of ${callId} never matched`);
}

/** The agent's leg once answered (the adapter then bridges it; a short emulated talk may end first). */
const answeredAgent = (callId: string) =>
  stack.log.legs(callId).find((event) => event.leg?.answeredAt && event.leg.tags['agent_id'])?.leg;

beforeAll(async () => {
  stack = await startStack({ replicas: 2, timeScale: 0.05, endpoints: { [device('k-1')]: talk } });
  await loadTenant(stack, () => false);
  states = await new Kvm(stack.bus.js).open('routing-calls');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function queuedCall(): Promise<{ callId: string; owner: string }> {
  const callId = await stack.call({ from: '+4940999000', to: NUMBERS.kill });
  await stack.waitForQueue('kill', (size) => size === 1);
  const state = await waitForState(callId, (candidate) => candidate.step === 'queued');
  return { callId, owner: state.owner };
}

describe('replicas', () => {
  it('serves a queued call after its routing process is killed with SIGKILL', async () => {
    const { callId, owner } = await queuedCall();
    const victim = stack.routing.find((process) => process.id === owner)!;
    victim.child.kill('SIGKILL');
    await victim.exited;

    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AVAILABLE });
    const leg = await stack.log.waitUntil('the agent answered', () => answeredAgent(callId), 30_000);
    expect(leg.tags['agent_id']).toBe('k-1');
    const state = await stateOf(callId);
    expect(state?.owner).not.toBe(owner);
    expect(state?.owner).toMatch(/^routing-/);
    await stack.log.waitUntil('the call ended', () => stack.log.ended(callId));
    await stack.waitForAgent('k-1', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
  });

  it('hands a queued call over on SIGTERM instead of cutting the caller off', async () => {
    await stack.startRouting('routing-3');
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AWAY });
    const { callId, owner } = await queuedCall();
    const leaving = stack.routing.find((process) => process.id === owner)!;
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    expect(stack.log.ended(callId)).toBeUndefined();

    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AVAILABLE });
    const leg = await stack.log.waitUntil('the agent answered', () => answeredAgent(callId), 30_000);
    expect(leg.tags['agent_id']).toBe('k-1');
    expect((await stateOf(callId))?.owner).not.toBe(owner);
    await stack.log.waitUntil('the call ended', () => stack.log.ended(callId));
  });

  it('takes a caller who hangs up while waiting out of the queue', async () => {
    await stack.waitForAgent('k-1', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AWAY });
    const { callId } = await queuedCall();
    stack.sim.hangupCall(callId);
    await stack.waitForQueue('kill', (size) => size === 0);
    await stack.log.waitUntil('the call ended', () => stack.log.ended(callId));
    const state = await waitForState(callId, (candidate) => candidate.step === 'ended');
    expect(state.endedReason).toBe('abandoned');
  });
});
