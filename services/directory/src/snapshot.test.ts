import type { KV } from '@nats-io/kv';
import { openSnapshotBucket } from '@switchboard/directory-cache';
import { directorySnapshotV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentSchema, type DirectoryDocument } from './model.js';
import { SnapshotPublisher, SnapshotTooLargeError } from './snapshot.js';

// The publisher on a real bucket; "the database" is a variable each test sets, and a load can be
// held until the test lets it answer, so two replicas' publishes interleave as the test says.

let server: NatsServer;
let nats: NatsHandle;
let kv: KV;

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'snapshot-test',
    logger: createLogger({ service: 'snapshot-test', level: 'silent' }),
  });
  kv = await openSnapshotBucket(nats);
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
});

const tenant = (tenantId: string, name: string): DirectoryDocument =>
  documentSchema.parse({ tenant: { tenantId, name, federalState: 'SH' } });

async function stored(tenantId: string): Promise<directorySnapshotV1.TenantSnapshot | 'deleted' | undefined> {
  const entry = await kv.get(tenantId);
  if (!entry) return undefined;
  return entry.operation === 'PUT' ? directorySnapshotV1.TenantSnapshot.decode(entry.value) : 'deleted';
}

/** A replica: its publisher reads `database`; `hold()` makes its next load wait for the returned release. */
function replica(database: Map<string, DirectoryDocument>, maxPayload = 1024 * 1024) {
  let gate: Promise<void> | undefined;
  let loads = 0;
  const publisher = new SnapshotPublisher(
    kv,
    async (tenantId) => {
      loads += 1;
      const read = database.get(tenantId);
      if (gate) {
        const waiting = gate;
        gate = undefined;
        await waiting;
      }
      return read;
    },
    () => maxPayload,
  );
  return {
    publisher,
    get loads() {
      return loads;
    },
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
  };
}

describe('SnapshotPublisher', () => {
  it('writes the stored tenant with a revision that grows with every write, and deletes its key when it is gone', async () => {
    const database = new Map([['t-a', tenant('t-a', 'Amt A')]]);
    const { publisher } = replica(database);
    const first = (await publisher.publish('t-a'))!;
    expect(first).toMatchObject({ tenantId: 't-a', tenant: { name: 'Amt A' } });
    expect(await stored('t-a')).toEqual(first);

    database.set('t-a', tenant('t-a', 'Amt A-Stadt'));
    const second = (await publisher.publish('t-a'))!;
    expect(Number(second.revision)).toBeGreaterThan(Number(first.revision));
    expect(second.publishedAt!.getTime()).toBeGreaterThanOrEqual(first.publishedAt!.getTime());

    database.delete('t-a');
    expect(await publisher.publish('t-a')).toBeUndefined();
    expect(await stored('t-a')).toBe('deleted');

    // Created again: its revisions go on from the deletion's, never back.
    database.set('t-a', tenant('t-a', 'Amt A'));
    expect(Number((await publisher.publish('t-a'))!.revision)).toBeGreaterThan(Number(second.revision) + 1);
  });

  it('keeps the newest state when two replicas write at once: the one that read the older state retries', async () => {
    const database = new Map([['t-b', tenant('t-b', 'first')]]);
    const slow = replica(database);
    const fast = replica(database);
    await fast.publisher.publish('t-b');

    // The slow replica reads "second" and is held; meanwhile the tenant changes again and the
    // fast replica publishes "third". The slow write of "second" then fails its compare-and-set,
    // and its retry reads the database again and finds "third" already in the bucket.
    database.set('t-b', tenant('t-b', 'second'));
    const release = slow.hold();
    const slowPublish = slow.publisher.publish('t-b');
    await expect.poll(() => slow.loads).toBe(1);
    database.set('t-b', tenant('t-b', 'third'));
    const newer = (await fast.publisher.publish('t-b'))!;
    release();
    const last = (await slowPublish)!;

    expect(slow.loads).toBe(2);
    expect(last).toEqual(newer);
    expect(await stored('t-b')).toMatchObject({ tenant: { name: 'third' }, revision: newer.revision });
  });

  it('writes a missing snapshot and leaves one with the same content alone', async () => {
    const database = new Map([['t-c', tenant('t-c', 'Amt C')]]);
    const { publisher } = replica(database);
    expect(await stored('t-c')).toBeUndefined();
    const written = (await publisher.publish('t-c'))!;
    expect(await publisher.publish('t-c')).toEqual(written);
    expect(await stored('t-c')).toEqual(written);

    database.set('t-c', tenant('t-c', 'Amt C, renamed'));
    expect((await publisher.publish('t-c'))!.revision).not.toBe(written.revision);
  });

  it('runs one publish per tenant at a time; requests meanwhile share the next one', async () => {
    const database = new Map([['t-e', tenant('t-e', 'Amt E')]]);
    const one = replica(database);
    const release = one.hold();
    const running = one.publisher.publish('t-e');
    await expect.poll(() => one.loads).toBe(1);
    database.set('t-e', tenant('t-e', 'Amt E, renamed'));
    const next = [one.publisher.publish('t-e'), one.publisher.publish('t-e'), one.publisher.publish('t-e')];
    release();
    expect((await running)!.tenant?.name).toBe('Amt E');
    const answers = await Promise.all(next);
    expect(new Set(answers.map((answer) => answer!.revision)).size).toBe(1);
    expect(answers[0]!.tenant?.name).toBe('Amt E, renamed');
    expect(one.loads).toBe(2);
  });

  it("answers GetSnapshot with the bucket's snapshot, writing it first when it is missing", async () => {
    const database = new Map([['t-f', tenant('t-f', 'Amt F')]]);
    const one = replica(database);
    const written = (await one.publisher.current('t-f'))!;
    expect(written.tenant?.name).toBe('Amt F');
    expect(await stored('t-f')).toEqual(written);
    // Present: answered from the bucket, the database is not read.
    expect(await one.publisher.current('t-f')).toEqual(written);
    expect(one.loads).toBe(1);
    expect(await one.publisher.current('t-none')).toBeUndefined();
  });

  it('refuses a snapshot over the server max_payload with a clear error and leaves the older one', async () => {
    const database = new Map([['t-d', tenant('t-d', 'Amt D')]]);
    const small = replica(database);
    const before = await small.publisher.publish('t-d');
    database.set('t-d', tenant('t-d', 'x'.repeat(150)));
    const tiny = replica(database, 40);
    await expect(tiny.publisher.publish('t-d')).rejects.toThrow(SnapshotTooLargeError);
    await expect(tiny.publisher.publish('t-d')).rejects.toThrow(/more than the NATS server's max_payload \(40\)/);
    expect(await stored('t-d')).toEqual(before);
  });
});
