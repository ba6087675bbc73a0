import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import { startNats, type NatsServer, deferred, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsHandle } from './nats/connection.js';
import { newEventMeta } from './nats/event-meta.js';
import { publishEvent } from './nats/publish.js';
import { createLogger } from './logger.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./shutdown.fixture.ts', import.meta.url));

let server: NatsServer;
let nats: NatsHandle;
let watcher: NatsConnection;
let child: ChildProcess | undefined;

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'shutdown-test',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  watcher = await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(server.credentials(TESTER).seed)),
  });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await watcher?.close();
  await nats?.connection.close();
  await server?.stop();
});

/** Resolves the first time the service logs a line whose `msg` matches. */
function logLines(process: ChildProcess): (msg: string) => Promise<Record<string, unknown>> {
  const waiting = new Map<string, (line: Record<string, unknown>) => void>();
  const seen: Array<Record<string, unknown>> = [];
  createInterface({ input: process.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    seen.push(line);
    waiting.get(String(line['msg']))?.(line);
  });
  return (msg) => {
    const earlier = seen.find((line) => line['msg'] === msg);
    return earlier ? Promise.resolve(earlier) : new Promise((resolve) => waiting.set(msg, resolve));
  };
}

describe('graceful shutdown', () => {
  it('finishes the message in hand on SIGTERM, acks it once and exits 0', async () => {
    const started = watcher.subscribe('fixture.started');
    const finished = watcher.subscribe('fixture.finished');
    const finishedCalls: string[] = [];
    const allFinished = (async () => {
      for await (const message of finished) finishedCalls.push(message.string());
    })();

    child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NATS_URL: server.url,
        NATS_NKEY_SEED: server.credentials(TESTER).seed,
        HTTP_PORT: '0',
        BIND_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '30000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const logged = logLines(child);
    await logged('shutdown-fixture ready');

    const inHandler = deferred<string>();
    void (async () => {
      for await (const message of started) inHandler.resolve(message.string());
    })();
    await publishEvent(nats, CallEvents.started, {
      meta: newEventMeta('t-kropp', 'shutdown-test'),
      callId: 'call-in-flight',
      adapterId: 'adapter-1',
      callerLeg: undefined,
      direction: 1,
      dialedNumber: '+494624800',
      callerName: '',
    });
    expect(await inHandler.promise).toBe('call-in-flight');

    child.kill('SIGTERM');
    await logged('draining');
    watcher.publish('fixture.release');

    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect((await logged('handler finished'))['callId']).toBe('call-in-flight');

    await watcher.flush();
    finished.unsubscribe();
    await allFinished;
    expect(finishedCalls).toEqual(['call-in-flight']);

    const info = await (await jetstreamManager(watcher)).consumers.info(CALLS_STREAM.name, 'fixture-calls');
    expect(info.delivered.stream_seq).toBe(1);
    expect(info.ack_floor.stream_seq).toBe(1);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });
});
