import { Kvm } from '@nats-io/kv';
import { errors } from '@nats-io/nats-core';
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import type { callV1 } from '@switchboard/proto';
import { eventually, startNats, TESTER, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { isUnavailable } from '../outage.js';
import { connectNats, ensureStreams, type NatsHandle } from './connection.js';
import { startConsumer, type DeliveredMessage } from './consumer.js';
import { newEventMeta } from './event-meta.js';
import { mirrorKv } from './kv-mirror.js';
import { publishEvent } from './publish.js';

// What a NATS restart (the testkit server stopped and started again on its port and store) does
// to a service's connection: it reconnects on its own, durable consumers and KV watches go on,
// and what is published while the server is away is stored once it is back.

const logger = createLogger({ service: 'outage-test', level: 'silent' });
let server: NatsServer;
let nats: NatsHandle;

function callStarted(callId: string): callV1.CallStarted {
  return {
    meta: newEventMeta('t-kropp', 'outage-test'),
    callId,
    adapterId: 'adapter-1',
    callerLeg: undefined,
    direction: 1,
    dialedNumber: '+494624800',
    callerName: '',
  };
}

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({ url: server.url, credentials: server.credentials(TESTER), name: 'outage-test', logger });
  await ensureStreams(nats.jsm, [CALLS_STREAM]);
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
});

describe('a NATS restart under a connected service', () => {
  it('reconnects; the consumer, a KV mirror and publishing go on, and nothing is lost or doubled', async () => {
    const handled: DeliveredMessage[] = [];
    const consumer = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'outage-consumer',
      filterSubjects: ['sb.*.call.started'],
      maxDeliver: 1,
      handler: async (message) => {
        handled.push(message);
      },
    });
    const kv = await new Kvm(nats.js).create('outage-mirror', { history: 1 });
    await kv.put('t.a', 'before');
    const copy = new Map<string, string>();
    const mirror = await mirrorKv(kv, (entry) => copy.set(entry.key, entry.string()), { logger, what: 'test' });
    try {
      await publishEvent(nats, CallEvents.started, callStarted('before'));
      await eventually(() => (handled.length === 1 ? true : undefined), 'the first event handled');

      // Down longer than a JetStream publish's own timeout (5 s): this publish must outlast it.
      const restarted = server.restart({ downMs: 6_000 });
      await eventually(() => (nats.connected ? undefined : true), 'the disconnect to be noticed');
      const duringOutage = publishEvent(nats, CallEvents.started, callStarted('during'));
      await restarted;
      const ack = await duringOutage;
      expect(ack.duplicate).toBe(false);
      await eventually(() => (nats.connected ? true : undefined), 'the reconnect');

      await publishEvent(nats, CallEvents.started, callStarted('after'));
      await kv.put('t.a', 'after');
      await eventually(() => (handled.length === 3 ? true : undefined), 'every event handled', 30_000);
      await eventually(() => (copy.get('t.a') === 'after' ? true : undefined), 'the KV change mirrored', 30_000);
      expect(mirror.following).toBe(true);
      expect(handled.map((message) => message.decode(CallEvents.started).callId)).toEqual([
        'before',
        'during',
        'after',
      ]);
      expect(handled.map((message) => message.deliveryCount)).toEqual([1, 1, 1]);
      expect((await nats.jsm.streams.info(CALLS_STREAM.name)).state.messages).toBe(3);
    } finally {
      mirror.stop();
      await consumer.stop();
    }
  }, 60_000);

  it('retries a handler whose dependency is away in place: no redelivery used up, never parked', async () => {
    let attempts = 0;
    const handled: number[] = [];
    const consumer = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'outage-retry',
      filterSubjects: ['sb.*.call.started'],
      maxDeliver: 1,
      handler: async (message) => {
        if (message.decode(CallEvents.started).callId !== 'flaky') return;
        attempts += 1;
        // What a request to a server that is away fails with.
        if (attempts <= 3) throw new errors.TimeoutError();
        handled.push(message.deliveryCount);
      },
    });
    try {
      await publishEvent(nats, CallEvents.started, callStarted('flaky'));
      await eventually(() => (handled.length ? true : undefined), 'the handler to succeed');
      expect(attempts).toBe(4);
      expect(handled).toEqual([1]);
      const info = await nats.jsm.consumers.info(CALLS_STREAM.name, 'outage-retry');
      expect(info.num_ack_pending + info.num_pending).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});

describe('isUnavailable', () => {
  it('tells a server that is away from a failure of the work itself', () => {
    expect(isUnavailable(new errors.TimeoutError())).toBe(true);
    expect(isUnavailable(new errors.RequestError('failed', { cause: new errors.NoRespondersError('x') }))).toBe(true);
    expect(isUnavailable(new Error('tariff missing'))).toBe(false);
    expect(isUnavailable('timeout')).toBe(false);
  });
});
