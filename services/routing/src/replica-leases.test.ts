import { describe, expect, it } from 'vitest';
import { instanceId, OwnLease, ReplicaLiveness } from './replica-leases.js';

// The liveness judgement on an injected clock: lease 2000 ms, renewals every 500 ms.

const LEASE = 2_000;
const SELF = 'routing-a.00000001';
const OTHER = 'routing-b.00000002';

/** A watcher that sees its own renewals every 500 ms up to `until`, and the other's as given. */
function watcher(): ReplicaLiveness {
  return new ReplicaLiveness({ self: SELF, leaseMs: LEASE });
}

function ownRenewals(liveness: ReplicaLiveness, from: number, until: number): void {
  for (let at = from; at <= until; at += 500) liveness.renewed(SELF, at);
}

describe('ReplicaLiveness', () => {
  it('finds a replica dead once its lease was not renewed for longer than the lease, once', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 10_000);
    liveness.renewed(OTHER, 1_000);
    expect(liveness.check(3_000)).toEqual([]);
    expect(liveness.isLive(OTHER)).toBe(true);
    expect(liveness.check(3_001)).toEqual([OTHER]);
    expect(liveness.isDead(OTHER)).toBe(true);
    expect(liveness.isLive(OTHER)).toBe(false);
    expect(liveness.check(5_000)).toEqual([]);
  });

  it('keeps a replica that renews alive, and revives one that renews after it was found dead', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 20_000);
    for (let at = 0; at <= 10_000; at += 500) {
      liveness.renewed(OTHER, at);
      expect(liveness.check(at + 250)).toEqual([]);
    }
    expect(liveness.check(12_001)).toEqual([OTHER]);
    liveness.renewed(OTHER, 12_500);
    expect(liveness.isLive(OTHER)).toBe(true);
    expect(liveness.isDead(OTHER)).toBe(false);
  });

  it('judges nobody while its own renewals do not come back, and restarts the clocks when they do', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 1_000);
    liveness.renewed(OTHER, 1_000);
    // The watcher's own view stalls from 1000 to 5000 (its connection, watch or event loop).
    expect(liveness.trusted(2_001)).toBe(false);
    expect(liveness.check(4_000)).toEqual([]);
    liveness.renewed(SELF, 5_000);
    // The other's silence while the watcher could not see is not counted: a lease from now.
    expect(liveness.check(5_100)).toEqual([]);
    ownRenewals(liveness, 5_500, 8_000);
    expect(liveness.check(7_000)).toEqual([]);
    expect(liveness.check(7_001)).toEqual([OTHER]);
  });

  it('judges nobody before its own first renewal came back', () => {
    const liveness = watcher();
    liveness.renewed(OTHER, 0);
    expect(liveness.check(10_000)).toEqual([]);
  });

  it('judges nobody while disconnected, and restarts the clocks after the reconnect', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 10_000);
    liveness.renewed(OTHER, 500);
    liveness.disconnected();
    expect(liveness.check(2_600)).toEqual([]);
    liveness.reconnected(2_700);
    expect(liveness.check(4_700)).toEqual([]);
    expect(liveness.check(4_701)).toEqual([OTHER]);
  });

  it('finds a replica whose key was deleted dead at once (a shutdown)', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 1_000);
    liveness.renewed(OTHER, 500);
    liveness.removed(OTHER);
    expect(liveness.isDead(OTHER)).toBe(true);
  });

  it('never judges an owner whose lease it never saw (left to the call.started redelivery)', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 10_000);
    liveness.removed('routing-old-1');
    expect(liveness.check(10_000)).toEqual([]);
    expect(liveness.isDead('routing-old-1')).toBe(false);
    expect(liveness.isLive('routing-old-1')).toBe(false);
  });

  it('forgets a dead replica once asked to', () => {
    const liveness = watcher();
    ownRenewals(liveness, 0, 5_000);
    liveness.renewed(OTHER, 0);
    expect(liveness.check(2_500)).toEqual([OTHER]);
    liveness.forget(OTHER);
    expect(liveness.deadReplicas.size).toBe(0);
    expect(liveness.isDead(OTHER)).toBe(false);
  });
});

describe('OwnLease', () => {
  it('tells when two stored renewals were further apart than a lease', () => {
    const own = new OwnLease(LEASE);
    expect(own.stored(0)).toBe(false);
    expect(own.stored(500)).toBe(false);
    expect(own.stored(2_500)).toBe(false);
    expect(own.stored(4_501)).toBe(true);
    expect(own.stored(5_000)).toBe(false);
  });
});

describe('instanceId', () => {
  it('adds a nonce per process start to the configured replica id', () => {
    const first = instanceId('routing-0');
    expect(first).toMatch(/^routing-0\.[0-9a-f]{8}$/);
    expect(instanceId('routing-0')).not.toBe(first);
  });
});
