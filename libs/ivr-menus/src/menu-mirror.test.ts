import { Kvm, type KV } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { eventually, startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amtMenus, department, menu } from './testing.js';
import { MenuMirror } from './menu-mirror.js';
import { MENU_BUCKET_CONFIG, encodeMenuSnapshot, snapshotKey } from './snapshot.js';

const logger = createLogger({ service: 'ivr-menus-test', level: 'silent' });
const PUBLISHED_AT = new Date('2026-03-02T08:00:00Z');

let nats: NatsServer;
let ivr: NatsHandle;
let routing: NatsHandle;
let mirror: MenuMirror | undefined;

const connect = (identity: 'ivr' | 'routing') =>
  connectNats({ url: nats.url, credentials: nats.credentials(identity), name: `${identity}-test`, logger });

const snapshot = (tenantId: string, revision: number, menus = amtMenus()) =>
  encodeMenuSnapshot({ tenantId, revision, publishedAt: PUBLISHED_AT, menus });

beforeAll(async () => {
  nats = await startNats();
  [ivr, routing] = await Promise.all([connect('ivr'), connect('routing')]);
}, 60_000);

afterAll(async () => {
  mirror?.stop();
  await Promise.all([ivr?.connection.close(), routing?.connection.close()]);
  await nats?.stop();
});

describe('MenuMirror', () => {
  it('creates the bucket when ivr has not, and follows what ivr writes into it afterwards', async () => {
    // Routing may start first: with its own (read-only) permissions it creates the bucket as ivr would.
    mirror = await MenuMirror.open(routing, { logger });
    expect(mirror.following).toBe(true);
    expect(mirror.get('t-kropp')).toBeUndefined();

    const kv: KV = await new Kvm(ivr.js).create(KV_BUCKETS.ivrMenus, MENU_BUCKET_CONFIG);
    await kv.put(snapshotKey('t-kropp'), snapshot('t-kropp', 3));
    const mirrored = await eventually(() => mirror!.get('t-kropp'), 'the first snapshot');
    expect(mirrored.set.revision).toBe(3);
    expect([...mirrored.set.menus.keys()]).toEqual(['main', 'standesamt', 'after-hours']);
    expect(mirrored.set.menus.get('main')!.options.get('1')).toEqual(department('meldewesen'));
    expect(mirrored.publishedAt).toEqual(PUBLISHED_AT);
  });

  it('compiles each new revision once and never goes back to an older one', async () => {
    const kv = await new Kvm(ivr.js).open(KV_BUCKETS.ivrMenus);
    const held = mirror!.get('t-kropp')!;
    // The same revision again, an older one, a malformed value and another tenant's snapshot under
    // this key change nothing; a marker key written last tells when the watch has applied them all.
    await kv.put('t-kropp', snapshot('t-kropp', 3));
    await kv.put('t-kropp', snapshot('t-kropp', 2, [menu('old', {}, { entry: true })]));
    await kv.put('t-kropp', new Uint8Array([0xff, 0xff, 0xff]));
    await kv.put('t-kropp', snapshot('t-other', 9));
    await kv.put('marker-1', snapshot('marker-1', 1));
    await eventually(() => mirror!.get('marker-1'), 'the first marker');
    expect(mirror!.get('t-kropp')).toBe(held);

    const withFees = [...amtMenus(), menu('fees', { '1': department('kasse') })];
    await kv.put('t-kropp', snapshot('t-kropp', 4, withFees));
    const newer = await eventually(() => {
      const current = mirror!.get('t-kropp');
      return current !== held ? current : undefined;
    }, 'revision 4');
    expect(newer.set.revision).toBe(4);
    expect(newer.set.menus.has('fees')).toBe(true);
  });

  it('loads what the bucket holds before it resolves, and forgets a purged tenant', async () => {
    const second = await MenuMirror.open(routing, { logger });
    try {
      expect(second.get('t-kropp')?.set.revision).toBe(4);
      const kv = await new Kvm(ivr.js).open(KV_BUCKETS.ivrMenus);
      await kv.purge('marker-1');
      await kv.put('marker-2', snapshot('marker-2', 1));
      await eventually(() => second.get('marker-2'), 'the second marker');
      expect(second.get('marker-1')).toBeUndefined();
    } finally {
      second.stop();
    }
  });
});
