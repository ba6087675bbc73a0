import { presenceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { departmentsToWake, positionIn, queueKey, Wakeups, type QueueEntry } from './department-queue.js';

const entry = (arrival: number, callId: string, ringing = false): QueueEntry => ({
  key: queueKey('t1', 'd1', arrival, callId),
  callId,
  enqueuedAt: arrival,
  ringing,
});

describe('department queue order', () => {
  it('orders by arrival, whatever the insertion order', () => {
    const entries = [entry(1_700_000_000_300, 'c'), entry(1_700_000_000_100, 'a'), entry(1_700_000_000_200, 'b')];
    expect(positionIn(entries, entries[1]!.key)).toEqual({ position: 1, mayReserve: true });
    expect(positionIn(entries, entries[0]!.key)).toEqual({ position: 3, mayReserve: false });
  });

  it('lets a caller reserve only when everyone ahead is ringing an agent', () => {
    const entries = [entry(1, 'a', true), entry(2, 'b', true), entry(3, 'c'), entry(4, 'd')];
    expect(positionIn(entries, entries[2]!.key)?.mayReserve).toBe(true);
    expect(positionIn(entries, entries[3]!.key)?.mayReserve).toBe(false);
  });

  it('keeps call ids with dots as one key token', () => {
    expect(queueKey('t1', 'd1', 5, '1764.12')).toBe('t1.d1.000000000000005-1764_12');
    expect(positionIn([], 'nope')).toBeUndefined();
  });
});

/** An agent's entry in presence's bucket, as presence writes it. */
const agentEntry = (departments: string[], state: presenceV1.AgentState) => ({
  operation: 'PUT' as const,
  value: presenceV1.Agent.encode(
    presenceV1.Agent.fromPartial({
      tenantId: 't1',
      agentId: 'anna',
      departments: departments.map((departmentId) => ({ departmentId })),
      state,
    }),
  ).finish(),
});

describe('waking waiting callers on a change of an agent', () => {
  const { AGENT_STATE_AVAILABLE, AGENT_STATE_ON_CALL } = presenceV1.AgentState;

  it("wakes the callers of the agent's departments only, and only when the agent is available", () => {
    expect(departmentsToWake(agentEntry(['a', 'c'], AGENT_STATE_AVAILABLE))).toEqual(['a', 'c']);
    expect(departmentsToWake(agentEntry(['a'], AGENT_STATE_ON_CALL))).toEqual([]);
    expect(departmentsToWake({ operation: 'DEL', value: new Uint8Array() })).toEqual([]);
    expect(departmentsToWake({ operation: 'PUT', value: new Uint8Array([0xff, 0xff, 0xff]) })).toBeUndefined();
  });

  it('does not wake a caller waiting in department B when an agent of department A changes', async () => {
    const wakeups = new Wakeups();
    const woken: string[] = [];
    const never = new AbortController().signal;
    const waitIn = (department: string) =>
      wakeups.wait('t1', department, `t1.${department}.1-c`, 60_000, never).then(() => woken.push(department));
    const inA = waitIn('a');
    const inB = waitIn('b');
    for (const department of departmentsToWake(agentEntry(['a'], AGENT_STATE_AVAILABLE)) ?? [])
      wakeups.wake('t1', department);
    await inA;
    expect(woken).toEqual(['a']);
    // B's caller still waits: only its own department's change (or the tenant-wide one) wakes it.
    wakeups.wakeTenant('t1');
    await inB;
    expect(woken).toEqual(['a', 'b']);
  });
});

describe('waking the caller a change may let reserve', () => {
  it('wakes only the named caller of a department; the others wait for their retry or a wake of all', async () => {
    const wakeups = new Wakeups();
    const woken: string[] = [];
    const never = new AbortController().signal;
    const waitAs = (key: string) => wakeups.wait('t1', 'a', key, 60_000, never).then(() => woken.push(key));
    const first = waitAs('k1');
    const second = waitAs('k2');
    wakeups.wake('t1', 'a', 'k1');
    await first;
    expect(woken).toEqual(['k1']);
    // A key nobody waits under wakes nobody.
    wakeups.wake('t1', 'a', 'k9');
    wakeups.wake('t1', 'a');
    await second;
    expect(woken).toEqual(['k1', 'k2']);
  });

  it('ends a wait at its timeout or when its signal aborts', async () => {
    const wakeups = new Wakeups();
    const aborting = new AbortController();
    const aborted = wakeups.wait('t1', 'a', 'k1', 60_000, aborting.signal);
    aborting.abort();
    await aborted;
    await wakeups.wait('t1', 'a', 'k2', 10, new AbortController().signal);
  });
});
