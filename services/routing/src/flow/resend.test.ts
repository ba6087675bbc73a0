import { CallEvents, callControlServeSubject, callControlSubject, eventSubject } from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  GrpcStatusError,
  NotServedError,
  natsRpcClient,
  newEventMeta,
  serveNatsRpc,
  type NatsHandle,
  type RpcHandlers,
} from '@switchboard/service-kit';
import { eventually, startNats, type NatsServer } from '@switchboard/testkit';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConnectionEvents, resendAcrossOutages } from './resend.js';

// A caller in the menu when NATS restarts (issue 16's chaos run: the call that began 1 s before
// the restart was silent for 237 s). Routing and a stand-in adapter connect as themselves, with
// the permissions libs/events declares: the restarted server no longer knows routing's request,
// so it refuses the adapter's reply to it, and only a resend under the same command id gets the
// caller's key back to routing.

const logger = createLogger({ service: 'resend-test', level: 'silent' });
const definition = callControlV1.CallControlServiceService;
const ADAPTER = 'pbx-1';
let server: NatsServer;
let routing: NatsHandle;
let adapter: NatsHandle;

/** The adapter's command log in small: a repeated command id gets the first one's (running) result. */
class FakeAdapter {
  readonly received: string[] = [];
  private readonly results = new Map<string, Promise<callControlV1.PlayAndCollectResponse>>();
  private press: ((digits: string) => void) | undefined;

  /** PlayAndCollect; every other command is not this test's. */
  handlers(): RpcHandlers<typeof definition> {
    const unimplemented = () => Promise.reject(new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not in this test'));
    const others = Object.fromEntries(Object.keys(definition).map((key) => [key, unimplemented]));
    return {
      ...(others as unknown as RpcHandlers<typeof definition>),
      playAndCollect: (request) => {
        this.received.push(request.commandId);
        let result = this.results.get(request.commandId);
        if (!result) {
          result = new Promise((resolve) => {
            this.press = (digits) =>
              resolve({ digits, endedBy: callControlV1.CollectEnd.COLLECT_END_MAX_DIGITS, promptsFailed: false });
          });
          this.results.set(request.commandId, result);
        }
        return result;
      },
    };
  }

  /** The caller presses a key during the running PlayAndCollect. */
  pressKey(digits: string): void {
    this.press!(digits);
  }
}

beforeAll(async () => {
  server = await startNats();
  routing = await connectNats({ url: server.url, credentials: server.credentials('routing'), name: 'routing', logger });
  adapter = await connectNats({
    url: server.url,
    credentials: server.credentials('ari-adapter'),
    name: 'ari-adapter',
    logger,
  });
});

afterAll(async () => {
  await routing?.connection.close();
  await adapter?.connection.close();
  await server?.stop();
});

function playAndCollect(commandId: string): callControlV1.PlayAndCollectRequest {
  return {
    tenantId: 't-kropp',
    callId: 'c-1',
    commandId,
    media: ['sound:menu'],
    language: 'de',
    maxDigits: 1,
    terminator: '',
    firstDigitTimeoutMs: 10_000,
    interDigitTimeoutMs: 3_000,
    bargeIn: true,
  };
}

/** `work`, or a failure naming what never came within `ms` (the collect itself waits 5 minutes). */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe('a call-control command in flight across a NATS restart', () => {
  it('is sent again under its command id, and the key pressed after the restart reaches routing', async () => {
    const fake = new FakeAdapter();
    serveNatsRpc(adapter, {
      definition,
      handlers: fake.handlers(),
      subjectFor: (method) => callControlServeSubject(ADAPTER, method),
      logger,
    });
    const events = new ConnectionEvents();
    events.follow(routing.connection);
    const control = resendAcrossOutages(
      natsRpcClient(routing, {
        definition,
        subjectFor: (method, request) => callControlSubject(request.tenantId, ADAPTER, method),
        timeoutMs: 300_000,
      }),
      events,
    );

    const collected = control.playAndCollect(playAndCollect('c-1:ivr-1'));
    // Its failure is this test's failure, reported by `within` below, even when it comes early.
    collected.catch(() => undefined);
    await eventually(() => (fake.received.length === 1 ? true : undefined), 'the menu to start');

    // A restart and both reconnects took over 30 s once on the loaded CI machine: generous bounds.
    await server.restart({ downMs: 500 });
    await eventually(() => (routing.connected && adapter.connected ? true : undefined), 'both to reconnect', 40_000);
    fake.pressKey('3');

    const result = await within(collected, 40_000, 'no reply to the PlayAndCollect after the restart');
    expect(result.digits).toBe('3');
    // Sent again (once the adapter listened again), never under another id: one menu, one key.
    expect(new Set(fake.received)).toEqual(new Set(['c-1:ivr-1']));
    expect(fake.received.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe('a command failing as unavailable just after a reconnect', () => {
  it('is retried for the whole grace time, not a fixed number of times (a late adapter reconnect)', async () => {
    vi.useFakeTimers();
    try {
      const events = new ConnectionEvents(() => Date.now());
      events.disconnected();
      events.reconnected();
      let attempts = 0;
      const client = resendAcrossOutages(
        {
          answer: (_request: never) => {
            attempts += 1;
            // No subscription yet for six attempts (7.75 s; the old fixed four retries gave up after 3.75 s).
            if (attempts <= 6) return Promise.reject(new GrpcStatusError(grpc.status.UNAVAILABLE, 'nobody serves'));
            return Promise.resolve('answered');
          },
        },
        events,
      );
      const answered = client.answer({} as never);
      await vi.advanceTimersByTimeAsync(8_000);
      expect(await answered).toBe('answered');
      expect(attempts).toBe(7);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a call-control command in flight when the adapter restarts', () => {
  it('answered as not served by the stopping process, is sent again under its id until the next one serves it', async () => {
    const stopping = new AbortController();
    const first = new FakeAdapter();
    serveNatsRpc(adapter, {
      definition,
      handlers: first.handlers(),
      subjectFor: (method) => callControlServeSubject('pbx-2', method),
      logger,
      stopServing: stopping.signal,
    });
    const events = new ConnectionEvents();
    events.follow(routing.connection);
    const control = resendAcrossOutages(
      natsRpcClient(routing, {
        definition,
        subjectFor: (method, request) => callControlSubject(request.tenantId, 'pbx-2', method),
        timeoutMs: 300_000,
      }),
      events,
    );
    const collected = control.playAndCollect(playAndCollect('c-1:ivr-2'));
    collected.catch(() => undefined);
    await eventually(() => (first.received.length === 1 ? true : undefined), 'the menu to start');

    stopping.abort();
    // Nobody serves for a while (the next process starting), then the next process does, without the
    // first one's command log: the menu plays again there and the caller's key is collected.
    const next = new FakeAdapter();
    serveNatsRpc(adapter, {
      definition,
      handlers: next.handlers(),
      subjectFor: (method) => callControlServeSubject('pbx-2', method),
      logger,
    });
    await eventually(() => (next.received.length === 1 ? true : undefined), 'the resend to reach the next process');
    next.pressKey('4');
    const result = await within(collected, 20_000, 'no reply to the PlayAndCollect after the adapter restart');
    expect(result.digits).toBe('4');
    expect(next.received).toEqual(['c-1:ivr-2']);
  }, 60_000);

  it('is sent again for up to a minute while nobody serves it; an ordinary UNAVAILABLE is not sent again', async () => {
    vi.useFakeTimers();
    try {
      const events = new ConnectionEvents(() => Date.now());
      const attempts = { restarting: 0, gone: 0, unreachable: 0 };
      const client = resendAcrossOutages(
        {
          // The next process serves after 5 s of restart.
          restarting: (_request: never) => {
            attempts.restarting += 1;
            return attempts.restarting <= 4
              ? Promise.reject(new NotServedError('nobody serves sb.t-kropp.callcontrol.pbx-1.Answer'))
              : Promise.resolve('answered');
          },
          // No adapter ever comes back.
          gone: (_request: never) => {
            attempts.gone += 1;
            return Promise.reject(new NotServedError('nobody serves sb.t-kropp.callcontrol.pbx-9.Answer'));
          },
          // The adapter's answer about the work itself (a phone that cannot be reached).
          unreachable: (_request: never) => {
            attempts.unreachable += 1;
            return Promise.reject(new GrpcStatusError(grpc.status.UNAVAILABLE, 'endpoint cannot be reached'));
          },
        },
        events,
      );
      const restarting = client.restarting({} as never);
      const gone = client.gone({} as never).catch((error: unknown) => error);
      const unreachable = client.unreachable({} as never).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(6_000);
      expect(await restarting).toBe('answered');
      expect(await unreachable).toMatchObject({ details: 'endpoint cannot be reached' });
      expect(attempts.unreachable).toBe(1);
      await vi.advanceTimersByTimeAsync(57_000);
      const failure = await gone;
      expect(failure).toBeInstanceOf(NotServedError);
      // At 0, 0.25, 0.75, 1.75 s, then every 2 s until the first failure after the minute (61.75 s).
      expect(attempts.gone).toBe(34);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a call-control command in flight when the adapter process is killed', () => {
  it('is sent again when the next process announces it took the call over, and only for that call', async () => {
    // The killed process: its connection goes away with the request in hand, answering nothing.
    const killed = await connectNats({
      url: server.url,
      credentials: server.credentials('ari-adapter'),
      name: 'ari-adapter',
      logger,
    });
    const first = new FakeAdapter();
    serveNatsRpc(killed, {
      definition,
      handlers: first.handlers(),
      subjectFor: (method) => callControlServeSubject('pbx-3', method),
      logger,
    });
    await killed.connection.flush();
    const events = new ConnectionEvents();
    events.follow(routing.connection);
    events.followTakeovers(routing.connection, logger);
    const control = resendAcrossOutages(
      natsRpcClient(routing, {
        definition,
        subjectFor: (method, request) => callControlSubject(request.tenantId, 'pbx-3', method),
        timeoutMs: 300_000,
      }),
      events,
    );
    const collected = control.playAndCollect(playAndCollect('c-1:ivr-3'));
    collected.catch(() => undefined);
    const other = control.playAndCollect({ ...playAndCollect('c-2:ivr-1'), callId: 'c-2' });
    other.catch(() => undefined);
    await eventually(() => (first.received.length === 2 ? true : undefined), 'both menus to start');
    await killed.connection.close();

    const next = new FakeAdapter();
    serveNatsRpc(adapter, {
      definition,
      handlers: next.handlers(),
      subjectFor: (method) => callControlServeSubject('pbx-3', method),
      logger,
    });
    await adapter.connection.flush();
    // The next process took call c-1 over (c-2 is not announced: it waits on).
    adapter.connection.publish(
      eventSubject('t-kropp', CallEvents.takenOver.domain, CallEvents.takenOver.event),
      CallEvents.takenOver.codec
        .encode({
          meta: newEventMeta('t-kropp', 'ari-adapter'),
          callId: 'c-1',
          adapterId: 'pbx-3',
        })
        .finish(),
    );
    await eventually(() => (next.received.length === 1 ? true : undefined), 'the resend to reach the next process');
    next.pressKey('5');
    const result = await within(collected, 20_000, 'no reply to the PlayAndCollect after the take-over');
    expect(result.digits).toBe('5');
    expect(next.received).toEqual(['c-1:ivr-3']);
  }, 60_000);
});
