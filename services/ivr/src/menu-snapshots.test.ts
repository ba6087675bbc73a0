import { Kvm, type KV } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { decodeMenuSnapshot } from '@switchboard/ivr-menus';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amtMenus, department, menu } from '../test/menus.js';
import { MenuSnapshots } from './menu-snapshots.js';

const logger = createLogger({ service: 'ivr-snapshots-test', level: 'silent' });

let nats: NatsServer;
let replicas: NatsHandle[];
let kv: KV;

/** Revision `revision` of a tenant's menus: the Amt menus plus one menu named after it. */
const setAt = (tenantId: string, revision: number) => ({
  tenantId,
  revision,
  menus: [...amtMenus(), menu(`rev-${revision}`, { '1': department('zentrale') })],
});

async function held(tenantId: string): Promise<{ revision: number; menuIds: string[] } | undefined> {
  const entry = await kv.get(tenantId);
  if (entry?.operation !== 'PUT') return undefined;
  const snapshot = decodeMenuSnapshot(entry.value);
  return { revision: Number(snapshot.revision), menuIds: snapshot.menus.map((each) => each.menuId) };
}

/** A seeded shuffle (mulberry32), so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const result = [...items];
  for (let i = result.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

beforeAll(async () => {
  nats = await startNats();
  // Two ivr replicas, each with its own connection and its own view of what it published.
  replicas = await Promise.all(
    [1, 2].map((replica) =>
      connectNats({ url: nats.url, credentials: nats.credentials('ivr'), name: `ivr-${replica}`, logger }),
    ),
  );
  await MenuSnapshots.open(replicas[0]!, KV_BUCKETS.ivrMenus);
  kv = await new Kvm(replicas[0]!.js).open(KV_BUCKETS.ivrMenus);
}, 60_000);

afterAll(async () => {
  await Promise.all((replicas ?? []).map((replica) => replica.connection.close()));
  await nats?.stop();
});

describe('MenuSnapshots', () => {
  it('writes a newer revision and leaves the same or an older one out', async () => {
    const snapshots = await MenuSnapshots.open(replicas[0]!, KV_BUCKETS.ivrMenus);
    expect(snapshots.behind('t-kropp', 2)).toBe(true);
    expect(await snapshots.publish(setAt('t-kropp', 2))).toBe(true);
    expect(snapshots.behind('t-kropp', 2)).toBe(false);
    expect(await snapshots.publish(setAt('t-kropp', 2))).toBe(false);

    // The other replica, which read MongoDB before the save, publishes what it holds.
    const other = await MenuSnapshots.open(replicas[1]!, KV_BUCKETS.ivrMenus);
    expect(await other.publish(setAt('t-kropp', 1))).toBe(false);
    expect(other.behind('t-kropp', 2)).toBe(false);
    expect(await held('t-kropp')).toEqual({ revision: 2, menuIds: ['main', 'standesamt', 'after-hours', 'rev-2'] });
  });

  it('keeps the newest revision when two replicas write at the same time', async () => {
    const writers = await Promise.all(replicas.map((replica) => MenuSnapshots.open(replica, KV_BUCKETS.ivrMenus)));
    const revisions = Array.from({ length: 20 }, (_, index) => index + 1);
    for (const seed of [1, 2, 3]) {
      const tenantId = `t-race-${seed}`;
      // Each replica writes one after another, as its saves and resyncs do, in its own order.
      await Promise.all(
        writers.map(async (writer, replica) => {
          for (const revision of shuffled(revisions, seed * 10 + replica))
            await writer.publish(setAt(tenantId, revision));
        }),
      );
      expect(await held(tenantId)).toMatchObject({ revision: 20, menuIds: expect.arrayContaining(['rev-20']) });
    }
  });

  it('replaces a value it cannot read and writes again after a purge', async () => {
    const snapshots = await MenuSnapshots.open(replicas[0]!, KV_BUCKETS.ivrMenus);
    await kv.put('t-broken', new Uint8Array([0xff, 0xff, 0xff]));
    expect(await snapshots.publish(setAt('t-broken', 1))).toBe(true);
    expect((await held('t-broken'))?.revision).toBe(1);

    await kv.purge('t-broken');
    const fresh = await MenuSnapshots.open(replicas[1]!, KV_BUCKETS.ivrMenus);
    expect(await fresh.publish(setAt('t-broken', 1))).toBe(true);
    expect((await held('t-broken'))?.revision).toBe(1);
  });
});
