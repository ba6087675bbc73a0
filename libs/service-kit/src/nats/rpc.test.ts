import * as grpc from '@grpc/grpc-js';
import { callControlV1 } from '@switchboard/proto';
import { callControlSubject } from '@switchboard/events';
import { SpanKind, trace } from '@opentelemetry/api';
import { eventually, recordSpans, startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatusError } from '../grpc-server.js';
import { createLogger } from '../logger.js';
import { connectNats, type NatsHandle } from './connection.js';
import { NotServedError, natsRpcClient, serveNatsRpc, RPC_HEADERS, type RpcHandlers } from './rpc.js';

const logger = createLogger({ service: 'rpc-test', level: 'silent' });
const definition = callControlV1.CallControlServiceService;
type Handlers = RpcHandlers<typeof definition>;
const unimplemented = async () => {
  throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not in this test');
};

const tracing = recordSpans();
let server: NatsServer;
let nats: NatsHandle;
const answered: string[] = [];
/** The span each Answer was handled in, by call id. */
const handledIn = new Map<string, string>();

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({ url: server.url, credentials: server.credentials(TESTER), name: 'rpc-test', logger });
  const handlers: Handlers = {
    ...(Object.fromEntries(Object.keys(definition).map((key) => [key, unimplemented])) as unknown as Handlers),
    answer: async (request) => {
      answered.push(request.callId);
      handledIn.set(request.callId, trace.getActiveSpan()?.spanContext().spanId ?? '');
      return {};
    },
    play: async (request) => ({ playbackId: `pb-${request.media.join('+')}` }),
    hangup: async (request) => {
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `no call ${request.callId}`);
    },
    stopPlayback: async () => {
      throw new Error('a bug');
    },
  };
  serveNatsRpc(nats, { definition, handlers, logger, subjectFor: (method) => `sb.*.callcontrol.adapter-1.${method}` });
  await nats.connection.flush();
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
  await tracing.stop();
});

const client = (adapter = 'adapter-1', tenantOnSubject?: string) =>
  natsRpcClient(nats, {
    definition,
    timeoutMs: 2_000,
    subjectFor: (method, request) => `sb.${tenantOnSubject ?? request.tenantId}.callcontrol.${adapter}.${method}`,
  });

describe('NATS request/reply with protobuf service definitions', () => {
  it('sends a request and returns the decoded response', async () => {
    const response = await client().play({
      tenantId: 't-a',
      callId: 'c1',
      media: ['sound:hello', 'sound:menu'],
      language: 'de',
      commandId: 'x1',
    });
    expect(response).toEqual({ playbackId: 'pb-sound:hello+sound:menu' });
    await client().answer({ tenantId: 't-a', callId: 'c1', commandId: 'x2' });
    expect(answered).toEqual(['c1']);
  });

  it('carries a handler status to the caller as a GrpcStatusError', async () => {
    await expect(
      client().hangup({ tenantId: 't-a', callId: 'gone', cause: 16, commandId: 'x3' }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'no call gone',
    });
    await expect(
      client().stopPlayback({ tenantId: 't-a', callId: 'c1', playbackId: 'p', commandId: 'x4' }),
    ).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: 'internal error',
    });
  });

  it("refuses a request whose tenant is not the subject's", async () => {
    await expect(
      client('adapter-1', 't-b').answer({ tenantId: 't-a', callId: 'c9', commandId: 'x5' }),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    expect(answered).not.toContain('c9');
  });

  it('refuses a request whose tenant no subject can carry with INVALID_ARGUMENT, sending nothing', async () => {
    const checked = natsRpcClient(nats, {
      definition,
      subjectFor: (method, request) => callControlSubject(request.tenantId, 'adapter-1', method),
    });
    await expect(checked.answer({ tenantId: '', callId: 'c-none', commandId: 'x0' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('tenant id ""'),
    });
    expect(answered).not.toContain('c-none');
  });

  it('reports UNAVAILABLE when no adapter serves the subject, naming it, as not served (the caller may send it again)', async () => {
    const failure = await client('adapter-404')
      .answer({ tenantId: 't-a', callId: 'c1', commandId: 'x6' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NotServedError);
    expect(failure).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'nobody serves sb.t-a.callcontrol.adapter-404.Answer',
    });
  });

  it('answers the requests still in hand as not served when serving stops, ends the subscriptions and drops the late result', async () => {
    let finishCollect: () => void = () => undefined;
    const collecting = new Promise<void>((resolve) => (finishCollect = resolve));
    const tracked: Promise<unknown>[] = [];
    const stopServing = new AbortController();
    serveNatsRpc(nats, {
      definition,
      logger,
      stopServing: stopServing.signal,
      track: (work) => {
        tracked.push(work);
        return work;
      },
      subjectFor: (method) => `sb.*.callcontrol.adapter-going.${method}`,
      handlers: {
        ...(Object.fromEntries(Object.keys(definition).map((key) => [key, unimplemented])) as unknown as Handlers),
        // Waits for keys as long as the test lets it, as a PlayAndCollect does for a caller.
        playAndCollect: async () => {
          await collecting;
          return callControlV1.PlayAndCollectResponse.fromPartial({ digits: '12' });
        },
        answer: async () => ({}),
        dial: async () => {
          throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'endpoint kropp-101 cannot be reached');
        },
      },
    });
    await nats.connection.flush();
    const going = client('adapter-going');
    // A failure of the work itself stays an ordinary UNAVAILABLE: nothing to send elsewhere.
    const unreachable = await going
      .dial(
        callControlV1.DialRequest.fromPartial({
          tenantId: 't-a',
          callId: 'c9',
          commandId: 'd1',
          endpoint: 'PJSIP/kropp-101',
        }),
      )
      .catch((error: unknown) => error);
    expect(unreachable).toBeInstanceOf(GrpcStatusError);
    expect(unreachable).not.toBeInstanceOf(NotServedError);
    const waiting = going
      .playAndCollect(
        callControlV1.PlayAndCollectRequest.fromPartial({
          tenantId: 't-a',
          callId: 'c9',
          commandId: 'menu-1',
          media: ['sound:menu'],
        }),
      )
      .catch((error: unknown) => error);
    await eventually(() => (tracked.length === 2 ? true : undefined), 'the PlayAndCollect in hand');
    stopServing.abort();
    const failure = await waiting;
    expect(failure).toBeInstanceOf(NotServedError);
    expect(failure).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'PlayAndCollect not served: the server stopped before it answered',
    });
    // The shutdown waits for nothing more, and the handler's late result goes nowhere.
    await Promise.all(tracked);
    finishCollect();
    await expect(going.answer({ tenantId: 't-a', callId: 'c9', commandId: 'a1' })).rejects.toThrow(
      'nobody serves sb.t-a.callcontrol.adapter-going.Answer',
    );
  });

  it('reports DEADLINE_EXCEEDED naming the subject when a request is not answered in time', async () => {
    // Takes the request and never answers it, as a hung adapter would.
    const silent = nats.connection.subscribe('sb.t-a.callcontrol.adapter-mute.Answer');
    await nats.connection.flush();
    const impatient = natsRpcClient(nats, {
      definition,
      timeoutMs: 50,
      subjectFor: (method, request) => `sb.${request.tenantId}.callcontrol.adapter-mute.${method}`,
    });
    try {
      const failure = await impatient.answer({ tenantId: 't-a', callId: 'c1', commandId: 'x7' }).catch((e) => e);
      expect(failure).toBeInstanceOf(GrpcStatusError);
      expect(failure).toMatchObject({
        code: grpc.status.DEADLINE_EXCEEDED,
        details: 'no reply on sb.t-a.callcontrol.adapter-mute.Answer within 50 ms',
      });
      expect(silent.getReceived()).toBe(1);
    } finally {
      silent.unsubscribe();
    }
  });

  it("serves a request in a SERVER span that is a child of the caller's CLIENT span", async () => {
    const callerTraceId = await trace.getTracer('test').startActiveSpan('call flow', async (span) => {
      await client().answer({ tenantId: 't-a', callId: 'c-traced', commandId: 'x8' });
      span.end();
      return span.spanContext().traceId;
    });
    const subject = 'sb.t-a.callcontrol.adapter-1.Answer';
    const spans = await eventually(() => {
      const finished = tracing.exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === callerTraceId);
      return finished.length === 3 ? finished : undefined;
    }, 'the request, serve and caller spans to end');
    const request = spans.find((s) => s.name === `request ${subject}`);
    const served = spans.find((s) => s.name === `process ${subject}`);
    expect(request?.kind).toBe(SpanKind.CLIENT);
    expect(request?.attributes).toEqual({ 'messaging.system': 'nats', 'messaging.destination.name': subject });
    expect(served?.kind).toBe(SpanKind.SERVER);
    expect(served?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(handledIn.get('c-traced')).toBe(served?.spanContext().spanId);
  });

  it('answers a malformed request with INVALID_ARGUMENT', async () => {
    const reply = await nats.connection.request('sb.t-a.callcontrol.adapter-1.Answer', new Uint8Array([0xff, 0xff]), {
      timeout: 2_000,
    });
    expect(reply.headers?.get(RPC_HEADERS.status)).toBe(String(grpc.status.INVALID_ARGUMENT));
  });
});
