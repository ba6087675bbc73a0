import { jetstream, jetstreamManager, AckPolicy, type JsMsg } from '@nats-io/jetstream';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { CALLS_STREAM, CallEvents, DLQ_STREAM } from '@switchboard/events';
import type { callV1 } from '@switchboard/proto';
import { recordSpans, startNats, type NatsServer, deferred, eventually, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { connectNats, ensureStreams, type NatsHandle } from './connection.js';
import { DLQ_HEADERS, startConsumer, type AckMode, type DeliveredMessage, type RunningConsumer } from './consumer.js';
import { PoisonMessageError } from './errors.js';
import { newEventMeta } from './event-meta.js';
import { publishEvent } from './publish.js';

const logger = createLogger({ service: 'consumer-test', level: 'silent' });
const tracing = recordSpans();
let server: NatsServer;
let nats: NatsHandle;
let other: NatsConnection;

function callStarted(tenantId: string, callId: string): callV1.CallStarted {
  return {
    meta: newEventMeta(tenantId, 'consumer-test'),
    callId,
    adapterId: 'adapter-1',
    callerLeg: undefined,
    direction: 1,
    dialedNumber: '+494624800',
    callerName: '',
  };
}

/** Reads the next message parked on the dead-letter stream for `durable`. */
async function nextParked(durable: string): Promise<JsMsg> {
  const name = `dlq-reader-${durable}`;
  await nats.jsm.consumers.add(DLQ_STREAM.name, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    filter_subject: `sb.*.dlq.${durable}`,
  });
  const reader = await nats.js.consumers.get(DLQ_STREAM.name, name);
  const message = await reader.next({ expires: 20_000 });
  if (!message) throw new Error(`nothing parked for ${durable}`);
  message.ack();
  return message;
}

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({ url: server.url, credentials: server.credentials(TESTER), name: 'consumer-test', logger });
  await ensureStreams(nats.jsm, [CALLS_STREAM]);
  other = await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(server.credentials(TESTER).seed)),
  });
});

afterAll(async () => {
  await other?.close();
  await nats?.connection.close();
  await server?.stop();
  await tracing.stop();
});

describe('JetStream consumer', () => {
  let consumer: RunningConsumer | undefined;
  afterAll(async () => consumer?.stop());

  it('delivers a published event to a durable consumer and acks it', async () => {
    const received = deferred<callV1.CallStarted>();
    consumer = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'test-ack',
      filterSubjects: ['sb.*.call.started'],
      handler: async (message) => received.resolve(message.decode(CallEvents.started)),
    });
    const event = callStarted('t-kropp', 'call-1');
    await publishEvent(nats, CallEvents.started, event);

    const got = await received.promise;
    expect(got.callId).toBe('call-1');
    expect(got.meta?.eventId).toBe(event.meta?.eventId);
    const info = await eventually(async () => {
      const current = await nats.jsm.consumers.info(CALLS_STREAM.name, 'test-ack');
      return current.num_ack_pending === 0 && current.ack_floor.stream_seq >= 1 ? current : undefined;
    }, 'the ack to reach the server');
    expect(info.num_redelivered).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it("acks without waiting for the server's confirmation when the handler is idempotent", async () => {
    // The acks as they pass: a confirmed ack is a request (it has a reply subject), the other not.
    const acks: Array<{ confirmed: boolean }> = [];
    const watch = other.subscribe(`$JS.ACK.${CALLS_STREAM.name}.test-quick-ack.>`, {
      callback: (error, message) => {
        if (!error) acks.push({ confirmed: Boolean(message.reply) });
      },
    });
    await other.flush();
    const seen: string[] = [];
    const quick = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'test-quick-ack',
      filterSubjects: ['sb.t-quick.call.started'],
      ack: 'fire-and-forget',
      concurrency: 2,
      handler: async (message) => {
        seen.push(message.decode(CallEvents.started).callId);
      },
    });
    try {
      for (const callId of ['q-1', 'q-2', 'q-3']) {
        await publishEvent(nats, CallEvents.started, callStarted('t-quick', callId));
      }
      const info = await eventually(async () => {
        const current = await nats.jsm.consumers.info(CALLS_STREAM.name, 'test-quick-ack');
        return current.num_ack_pending === 0 && current.num_pending === 0 && seen.length === 3 ? current : undefined;
      }, 'the three acks to reach the server');
      expect(info.num_redelivered).toBe(0);
      expect(seen.sort()).toEqual(['q-1', 'q-2', 'q-3']);
      await eventually(() => (acks.length >= 3 ? acks : undefined), 'the acks to pass the watcher');
      expect(acks).toEqual([{ confirmed: false }, { confirmed: false }, { confirmed: false }]);
    } finally {
      await quick.stop();
      watch.unsubscribe();
    }
    await expect(
      startConsumer(nats, logger, {
        stream: CALLS_STREAM,
        durable: 'test-bad-ack',
        filterSubjects: ['sb.t-quick.call.ended'],
        ack: 'later' as AckMode,
        handler: async () => undefined,
      }),
    ).rejects.toThrow("consumer test-bad-ack: ack must be 'confirmed' or 'fire-and-forget', not 'later'");
  });

  it('stores an event published twice with the same Nats-Msg-Id once', async () => {
    const event = callStarted('t-dup', 'call-dup');
    const first = await publishEvent(nats, CallEvents.started, event);
    const second = await publishEvent(nats, CallEvents.started, event);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const stored = await nats.jsm.streams.info(CALLS_STREAM.name, { subjects_filter: 'sb.t-dup.>' });
    expect(stored.state.subjects?.['sb.t-dup.call.started']).toBe(1);
  });

  it('redelivers a failing message with back-off, then parks it on the dead-letter subject', async () => {
    const deliveries: Array<{ count: number; at: number }> = [];
    const failing = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'test-retry',
      filterSubjects: ['sb.t-retry.call.>'],
      maxDeliver: 3,
      backoffMs: [200, 400],
      handler: async (message: DeliveredMessage) => {
        deliveries.push({ count: message.deliveryCount, at: performance.now() });
        throw new Error('directory unreachable');
      },
    });
    try {
      const event = callStarted('t-retry', 'call-retry');
      await publishEvent(nats, CallEvents.started, event);

      const parked = await nextParked('test-retry');
      expect(parked.subject).toBe('sb.t-retry.dlq.test-retry');
      expect(parked.headers?.get(DLQ_HEADERS.subject)).toBe('sb.t-retry.call.started');
      expect(parked.headers?.get(DLQ_HEADERS.deliveries)).toBe('3');
      expect(parked.headers?.get(DLQ_HEADERS.reason)).toBe('directory unreachable');
      expect(CallEvents.started.codec.decode(parked.data).callId).toBe('call-retry');

      expect(deliveries.map((delivery) => delivery.count)).toEqual([1, 2, 3]);
      const [first, second, third] = deliveries.map((delivery) => delivery.at);
      // nak(delay) guarantees at least the back-off before the next delivery.
      expect(second! - first!).toBeGreaterThanOrEqual(190);
      expect(third! - second!).toBeGreaterThanOrEqual(390);

      const info = await eventually(async () => {
        const current = await nats.jsm.consumers.info(CALLS_STREAM.name, 'test-retry');
        return current.num_ack_pending === 0 ? current : undefined;
      }, 'the terminated message to leave the pending list');
      expect(info.num_pending).toBe(0);
    } finally {
      await failing.stop();
    }
  });

  it('parks a malformed payload at once instead of retrying it', async () => {
    let calls = 0;
    const poisoned = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'test-poison',
      filterSubjects: ['sb.t-poison.call.>'],
      handler: async (message) => {
        calls += 1;
        message.decode(CallEvents.started);
      },
    });
    try {
      const js = jetstream(other);
      await js.publish('sb.t-poison.call.started', new Uint8Array([0xff, 0xff, 0xff]), { msgID: 'garbage-1' });
      const parked = await nextParked('test-poison');
      expect(parked.headers?.get(DLQ_HEADERS.reason)).toMatch(/malformed call.started payload/);
      expect(parked.headers?.get(DLQ_HEADERS.deliveries)).toBe('1');
      expect(calls).toBe(1);
      expect(new PoisonMessageError('x')).toBeInstanceOf(Error);
    } finally {
      await poisoned.stop();
    }
  });

  it('keeps the trace across the hop: the consumer span is a child of the producer span', async () => {
    const handled = deferred<{ traceId: string; envelope: string }>();
    const traced = await startConsumer(nats, logger, {
      stream: CALLS_STREAM,
      durable: 'test-trace',
      filterSubjects: ['sb.t-trace.call.>'],
      handler: async (message) =>
        handled.resolve({
          traceId: trace.getActiveSpan()?.spanContext().traceId ?? 'none',
          envelope: message.decode(CallEvents.started).meta?.trace?.traceparent ?? '',
        }),
    });
    try {
      const tracer = trace.getTracer('test');
      const callerTraceId = await tracer.startActiveSpan('inbound call', async (span) => {
        await publishEvent(nats, CallEvents.started, callStarted('t-trace', 'call-trace'));
        span.end();
        return span.spanContext().traceId;
      });
      const { traceId, envelope } = await handled.promise;
      expect(traceId).toBe(callerTraceId);

      const spans = await eventually(async () => {
        const finished = tracing.exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === callerTraceId);
        return finished.some((s) => s.kind === SpanKind.CONSUMER) ? finished : undefined;
      }, 'the consumer span to end');
      const producer = spans.find((s) => s.name === 'publish sb.t-trace.call.started');
      const consumerSpan = spans.find((s) => s.name === 'process sb.t-trace.call.started');
      expect(producer?.kind).toBe(SpanKind.PRODUCER);
      expect(consumerSpan?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
      expect(consumerSpan?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);
      // The envelope names the same producer span as the headers: one injection for both.
      expect(envelope).toBe(`00-${callerTraceId}-${producer?.spanContext().spanId}-01`);
    } finally {
      await traced.stop();
    }
  });

  it('creates the dead-letter stream with any stream set', async () => {
    const manager = await jetstreamManager(other);
    const names: string[] = [];
    for await (const stream of manager.streams.list()) names.push(stream.config.name);
    expect(names.sort()).toEqual(['CALLS', 'DLQ']);
  });
});
