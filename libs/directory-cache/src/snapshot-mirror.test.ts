import * as grpc from '@grpc/grpc-js';
import type { KV } from '@nats-io/kv';
import { directorySnapshotV1 } from '@switchboard/proto';
import { GrpcStatusError, connectNats, createLogger, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DirectoryModel } from './model.js';
import { SnapshotMirror, openSnapshotBucket, type SnapshotSource } from './snapshot-mirror.js';

/** Waits on the KV watch; on a busy CI machine its delivery can take longer than vitest's 1 s. */
const WAIT = { timeout: 10_000 };

// The bucket on a real NATS server; GetSnapshot is a stand-in that counts its calls.

let server: NatsServer;
let nats: NatsHandle;
let kv: KV;
const asked: string[] = [];
const answers = new Map<string, directorySnapshotV1.TenantSnapshot>();
let release: (() => void) | undefined;
const source: SnapshotSource = {
  async getSnapshot({ tenantId }) {
    asked.push(tenantId);
    if (release) await new Promise<void>((resolve) => (release = resolve));
    const snapshot = answers.get(tenantId);
    if (!snapshot) throw new GrpcStatusError(grpc.status.NOT_FOUND, `tenant ${tenantId} not found`);
    return { snapshot };
  },
};
const error = vi.fn();
const logger = { error, warn: vi.fn(), info: vi.fn() } as unknown as Logger;
const built: string[] = [];
const mirror = new SnapshotMirror<{ model: DirectoryModel }>({
  toView: (model) => {
    built.push(`${model.tenantId}@${model.snapshot.revision}`);
    return { model };
  },
  source,
  logger,
});

const snapshot = (tenantId: string, revision: string, name = tenantId) =>
  directorySnapshotV1.TenantSnapshot.fromPartial({ tenantId, revision, tenant: { tenantId, name } });
const put = (value: directorySnapshotV1.TenantSnapshot) =>
  kv.put(value.tenantId, directorySnapshotV1.TenantSnapshot.encode(value).finish());

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'snapshot-mirror-test',
    logger: createLogger({ service: 'snapshot-mirror-test', level: 'silent' }),
  });
  kv = await openSnapshotBucket(nats);
  await put(snapshot('t-a', '1'));
  await mirror.follow(kv);
});

afterAll(async () => {
  mirror.stop();
  await nats?.connection.close();
  await server?.stop();
});

describe('SnapshotMirror', () => {
  it('has what the bucket held at start, builds a view once per snapshot and never asks for it', async () => {
    expect(mirror.following).toBe(true);
    const first = await mirror.get('t-a');
    expect(first.model.tenant.name).toBe('t-a');
    expect(await mirror.get('t-a')).toBe(first);
    expect(built.filter((entry) => entry.startsWith('t-a'))).toEqual(['t-a@1']);
    expect(asked).not.toContain('t-a');
  });

  it('takes each new snapshot and each deletion from the bucket', async () => {
    await put(snapshot('t-a', '2', 'Amt A'));
    await vi.waitFor(async () => expect((await mirror.get('t-a')).model.tenant.name).toBe('Amt A'), WAIT);
    expect(built.filter((entry) => entry.startsWith('t-a'))).toEqual(['t-a@1', 't-a@2']);

    await kv.delete('t-a');
    // Once the deletion arrived the tenant is unknown: GetSnapshot is asked and says NOT_FOUND.
    await vi.waitFor(() => expect(mirror.get('t-a')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND }), WAIT);
    expect(asked).toContain('t-a');
  });

  it('asks once for a tenant the bucket does not hold, however many look-ups wait, and keeps the answer', async () => {
    answers.set('t-b', snapshot('t-b', '3'));
    release = () => undefined;
    const waiting = [mirror.get('t-b'), mirror.get('t-b'), mirror.get('t-b')];
    await vi.waitFor(() => expect(asked.filter((tenant) => tenant === 't-b')).toHaveLength(1), WAIT);
    const releaseNow = release;
    release = undefined;
    releaseNow();
    const views = await Promise.all(waiting);
    expect(new Set(views).size).toBe(1);
    expect(await mirror.get('t-b')).toBe(views[0]);
    expect(asked.filter((tenant) => tenant === 't-b')).toHaveLength(1);
  });

  it('lets the bucket win over an answer that arrives after the bucket changed', async () => {
    answers.set('t-c', snapshot('t-c', '1', 'from GetSnapshot'));
    release = () => undefined;
    const asking = mirror.get('t-c');
    await vi.waitFor(() => expect(asked).toContain('t-c'), WAIT);
    await put(snapshot('t-c', '5', 'from the bucket'));
    await vi.waitFor(async () => expect((await mirror.get('t-c')).model.tenant.name).toBe('from the bucket'), WAIT);
    const releaseNow = release;
    release = undefined;
    releaseNow();
    expect((await asking).model.tenant.name).toBe('from the bucket');
  });

  it('keeps the previous copy when a snapshot in the bucket cannot be decoded', async () => {
    await put(snapshot('t-d', '1', 'good'));
    await vi.waitFor(async () => expect((await mirror.get('t-d')).model.tenant.name).toBe('good'), WAIT);
    await kv.put('t-d', new Uint8Array([0xff, 0xff, 0xff]));
    // The bad value is decoded on the first look-up after it arrived.
    await vi.waitFor(async () => {
      await mirror.get('t-d');
      expect(error).toHaveBeenCalledWith(
        expect.objectContaining({ tenantId: 't-d' }),
        'undecodable directory snapshot; the previous copy stays',
      );
    }, WAIT);
    expect((await mirror.get('t-d')).model.tenant.name).toBe('good');
  });
});
