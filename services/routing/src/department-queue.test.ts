import { describe, expect, it } from 'vitest';
import { positionIn, queueKey, type QueueEntry } from './department-queue.js';

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
