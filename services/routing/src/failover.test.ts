import { Kvm, type KV } from '@nats-io/kv';
import { callControlV1, presenceV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_ID, startStack, TENANT, type RoutingProcess, type Stack } from '../test/harness.js';
import { device, loadTenant, NUMBERS } from '../test/tenant.js';
import { callKey, type CallState } from './call-state.js';

// Two routing replicas share the work: a replica killed with SIGKILL (or stopped with SIGTERM)
// must not lose a call, forget a key already pressed, or do anything twice — and another replica
// must take its calls over once its lease (2 s) runs out (the README's "Takeover guarantees").

const { AgentState } = presenceV1;
const talk = { answerAfterMs: 1_000, hangupAfterMs: 4_000 };
// The guarantee is 3 s (lease 2 s + detection + replay; `pnpm chaos` measures it under load and
// each test prints its figure). The bound here is looser so that a busy 2-core CI machine, whose
// event loops stall for a second at times, does not fail it; it still fails a takeover that waits
// for anything but the lease.
const TAKEOVER_LIMIT_MS = 6_000;

let stack: Stack;
let states: KV;

/** A call-control request routing sent, with when this test saw it. */
interface Command {
  method: string;
  callId: string;
  commandId: string;
  at: number;
}

const commands: Command[] = [];
const commandWaiters = new Set<() => void>();

/** Resolves with the first command matching once it was sent (checked now and at every command). */
function waitForCommand(what: string, match: (command: Command) => boolean, timeoutMs = 30_000): Promise<Command> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const found = commands.find(match);
      if (!found) return false;
      commandWaiters.delete(attempt);
      clearTimeout(timer);
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      commandWaiters.delete(attempt);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    if (!attempt()) commandWaiters.add(attempt);
  });
}

/** The request's call and command ids: every call-control request has them (call id is field 2 in all). */
function decodeCommand(method: string, data: Uint8Array): Omit<Command, 'at' | 'method'> {
  if (method === 'Dial') return callControlV1.DialRequest.decode(data);
  if (method === 'PlayAndCollect') return callControlV1.PlayAndCollectRequest.decode(data);
  const { callId } = callControlV1.AnswerRequest.decode(data);
  return { callId, commandId: method === 'Answer' ? callControlV1.AnswerRequest.decode(data).commandId : '' };
}

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

/** The measured takeover times, printed with the test run (the README quotes them). */
const report = (line: string) => process.stdout.write(`${line}\n`);

/** The routing process whose instance owns a call (owner = `<replica id>.<nonce>`). */
const processOf = (owner: string): RoutingProcess => {
  const found = stack.routing.find((process) => owner.startsWith(`${process.id}.`));
  if (!found) throw new Error(`no routing process owns ${owner}`);
  return found;
};

/** The agent's leg once answered (the adapter then bridges it; a short emulated talk may end first). */
const answeredAgent = (callId: string) =>
  stack.log.legs(callId).find((event) => event.leg?.answeredAt && event.leg.tags['agent_id'])?.leg;

/** Distinct legs routing had dialled to agents for the call. */
const agentLegs = (callId: string) =>
  new Set(
    stack.log
      .legs(callId)
      .filter((event) => event.leg?.tags['agent_id'])
      .map((event) => event.leg!.legId),
  );

/** Kills the owner's process and resolves with the time of the kill and the next command on the call after it. */
async function killOwner(
  callId: string,
  owner: string,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<{ killedAt: number; next: Promise<Command> }> {
  const victim = processOf(owner);
  const killedAt = performance.now();
  const next = waitForCommand(`a command for ${callId} after the ${signal}`, (command) => {
    return command.callId === callId && command.at > killedAt;
  });
  victim.child.kill(signal);
  await victim.exited;
  return { killedAt, next };
}

beforeAll(async () => {
  stack = await startStack({ replicas: 2, timeScale: 0.05, endpoints: { [device('k-1')]: talk } });
  await loadTenant(stack, () => false);
  states = await new Kvm(stack.bus.js).open('routing-calls');
  const subscription = stack.bus.connection.subscribe(`sb.${TENANT}.callcontrol.${ADAPTER_ID}.*`, {
    callback: (error, message) => {
      if (error) return;
      const method = message.subject.split('.').at(-1)!;
      commands.push({ method, ...decodeCommand(method, message.data), at: performance.now() });
      for (const waiter of [...commandWaiters]) waiter();
    },
  });
  return () => subscription.unsubscribe();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/**
 * Resolves once the caller waits with music and heard their position (Answer, StartMusicOnHold,
 * Play): the owner then sends nothing more on the call until an agent is free, so every command
 * after a kill comes from the replica that took the call over.
 */
async function settledInQueue(callId: string): Promise<void> {
  await waitForCommand(`the position announcement of ${callId}`, (command) => {
    return command.callId === callId && command.method === 'Play';
  });
}

async function queuedCall(): Promise<{ callId: string; owner: string }> {
  const callId = await stack.call({ from: '+4940999000', to: NUMBERS.kill });
  await stack.waitForQueue('kill', (size) => size === 1);
  const state = await waitForState(callId, (candidate) => candidate.step === 'queued');
  await settledInQueue(callId);
  return { callId, owner: state.owner };
}

describe('replicas', () => {
  it('serves a queued call within seconds after its routing process is killed with SIGKILL', async () => {
    const { callId, owner } = await queuedCall();
    const { killedAt, next } = await killOwner(callId, owner, 'SIGKILL');
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AVAILABLE });

    const resumed = await next;
    report(
      `queued caller: routing killed, next command (${resumed.method}) after ${Math.round(resumed.at - killedAt)} ms`,
    );
    expect(resumed.at - killedAt).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);
    const leg = await stack.log.waitUntil('the agent answered', () => answeredAgent(callId), 30_000);
    expect(leg.tags['agent_id']).toBe('k-1');
    const state = await stateOf(callId);
    expect(state?.owner).not.toBe(owner);
    expect(processOf(state!.owner).id).toMatch(/^routing-/);
    // Nothing twice: one agent leg per dial attempt id.
    const dials = new Set(commands.filter((command) => command.callId === callId && command.method === 'Dial'));
    expect(agentLegs(callId).size).toBe(new Set([...dials].map((command) => command.commandId)).size);
    await stack.log.waitUntil('the call ended', () => stack.log.ended(callId));
    await stack.waitForAgent('k-1', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
  });

  it('brings a caller whose replica was killed between two menu keys to the department both keys chose, within seconds', async () => {
    await stack.startRouting('routing-4');
    const callId = await stack.call({ from: '+4940999001', to: NUMBERS.takeover });
    await waitForCommand('the first menu', (command) => command.commandId === `${callId}:ivr-1`);
    stack.sim.pressDigits(callId, '1');
    await waitForCommand('the second menu', (command) => command.commandId === `${callId}:ivr-2`);
    const owner = (await stateOf(callId))!.owner;
    const { killedAt, next } = await killOwner(callId, owner, 'SIGKILL');
    // Pressed while nobody routes the call: the adapter's collect under ivr-2 keeps it.
    stack.sim.pressDigits(callId, '3');

    const resumed = await next;
    report(
      `IVR caller: routing killed, next command (${resumed.method}) after ${Math.round(resumed.at - killedAt)} ms`,
    );
    expect(resumed.at - killedAt).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);
    const leg = await stack.log.waitUntil('the agent answered', () => answeredAgent(callId), 30_000);
    expect(leg.tags).toMatchObject({ agent_id: 'k-1', department_id: 'kill' });
    // The replay repeated both menus under their ids; the caller heard no menu twice (a key
    // pressed before a prompt began ends it before it plays: once or not at all).
    const collects = commands.filter((command) => command.callId === callId && command.method === 'PlayAndCollect');
    expect(new Set(collects.map((command) => command.commandId))).toEqual(
      new Set([`${callId}:ivr-1`, `${callId}:ivr-2`]),
    );
    const heard = stack.sim.getCall(callId)!.playbacks;
    expect(heard.filter((media) => media === 'sound:switchboard/main-menu').length).toBeLessThanOrEqual(1);
    expect(heard.filter((media) => media === 'sound:switchboard/kropp/main-menu').length).toBeLessThanOrEqual(1);
    const dials = commands.filter((command) => command.callId === callId && command.method === 'Dial');
    expect(agentLegs(callId).size).toBe(new Set(dials.map((command) => command.commandId)).size);
    await stack.log.waitUntil('the call ended', () => stack.log.ended(callId));
    await stack.waitForAgent('k-1', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
  });

  it('takes every call of a killed replica over within seconds when it held several callers', async () => {
    await stack.startRouting('routing-5');
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AWAY });
    const callIds: string[] = [];
    for (let caller = 0; caller < 10; caller++) {
      callIds.push(await stack.call({ from: `+49409990${String(caller).padStart(2, '0')}`, to: NUMBERS.kill }));
    }
    await stack.waitForQueue('kill', (size) => size === callIds.length);
    const owners = await Promise.all(
      callIds.map(async (callId) => (await waitForState(callId, (state) => state.step === 'queued')).owner),
    );
    await Promise.all(callIds.map((callId) => settledInQueue(callId)));
    // The replica holding the most of them dies.
    const counts = new Map<string, number>();
    for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const victimCalls = callIds.filter((_, index) => owners[index] === victim);
    const killedAt = performance.now();
    const next = victimCalls.map((callId) =>
      waitForCommand(`a command for ${callId} after the kill`, (command) => {
        return command.callId === callId && command.at > killedAt;
      }),
    );
    const process = processOf(victim);
    process.child.kill('SIGKILL');
    await process.exited;

    const gaps = (await Promise.all(next)).map((command) => command.at - killedAt);
    report(
      `${victimCalls.length} queued callers: routing killed, next commands after ${Math.round(Math.min(...gaps))}–${Math.round(Math.max(...gaps))} ms`,
    );
    expect(Math.max(...gaps)).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AVAILABLE });
    for (const callId of callIds) {
      await stack.log.waitUntil(`${callId} answered`, () => answeredAgent(callId), 60_000);
      await stack.log.waitUntil(`${callId} ended`, () => stack.log.ended(callId));
      const dials = commands.filter((command) => command.callId === callId && command.method === 'Dial');
      expect(agentLegs(callId).size).toBe(new Set(dials.map((command) => command.commandId)).size);
    }
    await stack.waitForAgent('k-1', (agent) => agent.state === AgentState.AGENT_STATE_AVAILABLE);
  });

  it('hands a queued call over on SIGTERM, taken over at once instead of cutting the caller off', async () => {
    await stack.startRouting('routing-3');
    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AWAY });
    const { callId, owner } = await queuedCall();
    // When another replica's takeover is written (the leaving process may take longer to exit).
    const taken = waitForState(callId, (state) => state.owner !== owner && state.owner !== '').then((state) => ({
      state,
      at: performance.now(),
    }));
    const leaving = processOf(owner);
    const stoppedAt = performance.now();
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    const { state: successor, at } = await taken;
    const tookMs = at - stoppedAt;
    report(`SIGTERM handover: taken over by another replica ${Math.round(tookMs)} ms after the signal`);
    // At once: well before the leaving replica's lease (2 s) could have run out.
    expect(tookMs).toBeLessThan(2_000);
    expect(stack.log.ended(callId)).toBeUndefined();

    await stack.presence.setState({ tenantId: TENANT, agentId: 'k-1', state: AgentState.AGENT_STATE_AVAILABLE });
    const leg = await stack.log.waitUntil('the agent answered', () => answeredAgent(callId), 30_000);
    expect(leg.tags['agent_id']).toBe('k-1');
    expect((await stateOf(callId))?.owner).toBe(successor.owner);
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
