import * as grpc from '@grpc/grpc-js';
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import { startNats, type NatsServer, deferred, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatusError } from './grpc-server.js';
import { newEventMeta } from './nats/event-meta.js';
import { natsRpcClient, serveNatsRpc, type RpcHandlers } from './nats/rpc.js';
import { runService, type RunningService } from './service.js';

const definition = callControlV1.CallControlServiceService;
type Handlers = RpcHandlers<typeof definition>;

let nats: NatsServer;
let running: RunningService;
let call: ReturnType<typeof natsRpcClient<typeof definition>>;
const handled = deferred();
const release = deferred();

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${running.httpPort}/metrics`);
  return response.text();
}

beforeAll(async () => {
  nats = await startNats();
  running = await runService(
    {
      name: 'metrics-test',
      version: '0.0.0',
      nats: { streams: [CALLS_STREAM] },
      start: async (context) => {
        const handlers = Object.fromEntries(
          Object.keys(definition).map((key) => [
            key,
            async () => {
              throw new GrpcStatusError(grpc.status.NOT_FOUND, 'no such call');
            },
          ]),
        ) as unknown as Handlers;
        serveNatsRpc(context.nats!, {
          definition,
          handlers: { ...handlers, answer: async () => ({}) },
          logger: context.logger,
          subjectFor: (method) => `sb.*.callcontrol.metrics-test.${method}`,
        });
        // Holds its first message unacknowledged, so the consumer's backlog is visible.
        await context.consume({
          stream: CALLS_STREAM,
          durable: 'metrics-test-calls',
          filterSubjects: ['sb.*.call.started'],
          handler: async () => {
            handled.resolve();
            await release.promise;
          },
        });
        call = natsRpcClient(context.nats!, {
          definition,
          subjectFor: (method, request) => `sb.${request.tenantId}.callcontrol.metrics-test.${method}`,
        });
        for (const callId of ['c1', 'c2']) {
          await context.publish(CallEvents.started, {
            meta: newEventMeta('t-a', 'metrics-test'),
            callId,
            adapterId: 'a-1',
            callerLeg: undefined,
            direction: 1,
            dialedNumber: '+494624800',
            callerName: '',
          });
        }
      },
    },
    {
      env: {
        BIND_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        NATS_URL: nats.url,
        NATS_NKEY_SEED: nats.credentials(TESTER).seed,
      },
      handleSignals: false,
    },
  );
});

afterAll(async () => {
  release.resolve();
  await running?.shutdown('test over').catch(() => undefined);
  await nats?.stop();
});

describe('kit metrics on /metrics', () => {
  it('times NATS RPCs by method and status', async () => {
    await call.answer({ tenantId: 't-a', callId: 'c1', commandId: 'm-1' });
    await expect(call.hangup({ tenantId: 't-a', callId: 'c1', commandId: 'm-2', cause: 16 })).rejects.toThrow(
      'no such call',
    );
    const text = await scrape();
    expect(text).toMatch(
      /rpc_server_duration_count\{[^}]*rpc_system="nats",rpc_method="switchboard\.callcontrol\.v1\.CallControlService\/Answer",rpc_status="OK"[^}]*\} 1/,
    );
    expect(text).toMatch(/rpc_server_duration_count\{[^}]*rpc_method="[^"]*\/Hangup",rpc_status="NOT_FOUND"[^}]*\} 1/);
  });

  it('samples consumer backlog and stream sizes from JetStream, including the DLQ stream', async () => {
    await handled.promise;
    const text = await scrape();
    // One message held by the handler (awaiting ack) plus one not yet delivered.
    expect(text).toMatch(/events_consumer_pending\{[^}]*stream="CALLS",consumer="metrics-test-calls"[^}]*\} 2/);
    expect(text).toMatch(/events_stream_messages\{[^}]*stream="CALLS"[^}]*\} 2/);
    expect(text).toMatch(/events_stream_messages\{[^}]*stream="DLQ"[^}]*\} 0/);
  });

  it('exposes the process start time and event-loop delay', async () => {
    const text = await scrape();
    const started = Number(/\nprocess_start_time(?:\{[^}]*\})? (\d+)/.exec(text)?.[1]);
    expect(Math.abs(started - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
    expect(text).toMatch(/\nnodejs_eventloop_delay_p99(\{[^}]*\})? [0-9.e-]+/);
  });
});
