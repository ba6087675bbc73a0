import { Kvm, type KvEntry } from '@nats-io/kv';
import { startNats, type NatsServer, deferred, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { connectNats, type NatsHandle } from './connection.js';
import { mirrorKv } from './kv-mirror.js';

let server: NatsServer;
let nats: NatsHandle;
const logger = createLogger({ service: 'kv-mirror-test', level: 'silent' });

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'kv-mirror-test',
    logger,
  });
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
});

describe('mirrorKv', () => {
  it('resolves with every stored value applied, then follows changes until stopped', async () => {
    const kv = await new Kvm(nats.js).create('mirror-test', { history: 1 });
    for (let index = 0; index < 50; index++) await kv.put(`t.agent-${index}`, String(index));
    await kv.put('t.agent-0', 'changed');

    const copy = new Map<string, string>();
    const deleted = deferred<KvEntry>();
    const apply = (entry: KvEntry) => {
      if (entry.operation === 'PUT') copy.set(entry.key, entry.string());
      else {
        copy.delete(entry.key);
        deleted.resolve(entry);
      }
    };
    const mirror = await mirrorKv(kv, apply, { logger, what: 'test' });
    expect(copy.size).toBe(50);
    expect(copy.get('t.agent-0')).toBe('changed');
    expect(mirror.following).toBe(true);

    await kv.delete('t.agent-7');
    await deleted.promise;
    expect(copy.has('t.agent-7')).toBe(false);

    mirror.stop();
    await expect.poll(() => mirror.following).toBe(false);
  });
});
