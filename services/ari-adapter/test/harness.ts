import { randomUUID } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import {
  CALLS_STREAM,
  CallEvents,
  FAX_STREAM,
  FaxEvents,
  VoicemailEvents,
  callControlSubject,
  type EventPayload,
  type EventType,
} from '@switchboard/events';
import { startAriSim, type AriSim, type AriSimOptions } from '@switchboard/ari-sim';
import { callControlV1, callV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  natsRpcClient,
  runService,
  type NatsHandle,
  type RunningService,
} from '@switchboard/service-kit';
import { startNats, testTokens, type NatsServer, TESTER } from '@switchboard/testkit';
import { ariAdapter } from '../src/service.js';

export const ADAPTER_ID = 'pbx-test';
export const TENANT = 't-kropp';
export const MAIN_NUMBER = '+494624800';

export const FALLBACK_TENANT = 'provider';

const NUMBER_PLAN = {
  fallbackTenant: FALLBACK_TENANT,
  tenants: [{ tenantId: TENANT, numberPrefixes: ['+49462480'], endpointPrefixes: ['kropp-'] }],
};

export interface LoggedEvent {
  subject: string;
  event: string;
  payload: EventPayload & Record<string, unknown>;
}

const TYPES: Array<EventType<EventPayload>> = [
  ...Object.values(CallEvents),
  ...Object.values(FaxEvents),
  ...Object.values(VoicemailEvents),
] as Array<EventType<EventPayload>>;

/** Every call, fax and voicemail event the adapter published, in order, with waits on what a test expects. */
export class EventLog {
  readonly events: LoggedEvent[] = [];
  private readonly waiters = new Set<(logged: LoggedEvent) => boolean>();

  constructor(private readonly nats: NatsHandle) {}

  async follow(): Promise<void> {
    for (const stream of [CALLS_STREAM, FAX_STREAM]) {
      const consumer = await this.nats.js.consumers.get(stream.name, { deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume();
      void (async () => {
        // Ends with an error when the test closes the connection; nothing is left to log then.
        for await (const message of messages) {
          const type = TYPES.find((candidate) => message.subject.endsWith(`.${candidate.domain}.${candidate.event}`));
          if (!type) continue;
          const logged: LoggedEvent = {
            subject: message.subject,
            event: `${type.domain}.${type.event}`,
            payload: type.codec.decode(message.data) as LoggedEvent['payload'],
          };
          this.events.push(logged);
          for (const offer of [...this.waiters]) offer(logged);
        }
      })().catch(() => undefined);
    }
  }

  /** The first logged event (past or future) that matches. */
  waitFor<T = LoggedEvent['payload']>(
    event: string,
    match: (payload: T) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<T> {
    const earlier = this.events.find((logged) => logged.event === event && match(logged.payload as T));
    if (earlier) return Promise.resolve(earlier.payload as T);
    return new Promise((resolve, reject) => {
      const offer = (logged: LoggedEvent) => {
        if (logged.event !== event || !match(logged.payload as T)) return false;
        this.waiters.delete(offer);
        clearTimeout(timer);
        resolve(logged.payload as T);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(offer);
        reject(new Error(`no ${event} event matched within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(offer);
    });
  }

  of<T = LoggedEvent['payload']>(event: string, match: (payload: T) => boolean = () => true): T[] {
    return this.events
      .filter((logged) => logged.event === event && match(logged.payload as T))
      .map((logged) => logged.payload as T);
  }
}

export interface Harness {
  nats: NatsServer;
  bus: NatsHandle;
  sim: AriSim;
  adapter: RunningService;
  events: EventLog;
  control: ReturnType<typeof controlClient>;
  stop(): Promise<void>;
}

/** Call-control requests to the adapter `ADAPTER_ID` over NATS, as routing sends them. */
export function controlClient(bus: NatsHandle) {
  return natsRpcClient(bus, {
    definition: callControlV1.CallControlServiceService,
    subjectFor: (method, request) => callControlSubject(request.tenantId, ADAPTER_ID, method),
    timeoutMs: 60_000,
  });
}

/** Fields every command needs; a fresh command id unless the test repeats one on purpose. */
export function command(callId: string, commandId: string = randomUUID()) {
  return { tenantId: TENANT, callId, commandId };
}

/** The key pair of the adapter tests: the adapter and the stand-in directory verify with it. */
export const ADAPTER_TOKENS = testTokens();

/** The adapter's environment against `nats` and `sim` on loopback; `env` adds to or overrides it. */
export async function adapterEnv(
  nats: NatsServer,
  sim: AriSim,
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    ...nats.env('ari-adapter'),
    ARI_URL: sim.url,
    ARI_USERNAME: 'switchboard',
    ARI_PASSWORD: 'ari-secret',
    ADAPTER_ID,
    // With the directory the plan comes from there; NUMBER_PLAN is refused beside it.
    ...(env['DIRECTORY_ADDRESS'] ? { FALLBACK_TENANT: FALLBACK_TENANT } : { NUMBER_PLAN: JSON.stringify(NUMBER_PLAN) }),
    ...ADAPTER_TOKENS.env,
    AUTH_SERVICE_TOKEN: await ADAPTER_TOKENS.serviceToken('ari-adapter'),
    BIND_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...env,
  };
}

/** The test's own NATS connection (it may do anything). */
export function testBus(nats: NatsServer): Promise<NatsHandle> {
  return connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'adapter-test',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
}

/**
 * NATS, the ARI emulator and the adapter, wired as in production but on loopback; `env` adds to
 * or overrides the adapter's environment.
 */

export async function startHarness(
  simOptions: Partial<AriSimOptions> = {},
  env: Record<string, string> = {},
): Promise<Harness> {
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const nats = await startNats();
    stops.push(() => nats.stop());
    const sim = await startAriSim({ username: 'switchboard', password: 'ari-secret', timeScale: 0.02, ...simOptions });
    stops.push(() => sim.stop());
    const adapter = await runService(ariAdapter, {
      handleSignals: false,
      env: await adapterEnv(nats, sim, { LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent', ...env }),
    });
    stops.push(() => adapter.shutdown('test over'));
    const bus = await testBus(nats);
    stops.push(() => bus.connection.close());
    const events = new EventLog(bus);
    await events.follow();
    return { nats, bus, sim, adapter, events, control: controlClient(bus), stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** An inbound call to the main number, answered; its call id. */
export async function answeredCall(h: Harness): Promise<string> {
  const callId = h.sim.placeCall({ from: '+4946241234', to: MAIN_NUMBER });
  await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
  await h.control.answer(command(callId));
  return callId;
}

/** Dials a desk phone for the call and waits for the outcome (it rings up to 600 s of emulator time). */
export function dialAgent(h: Harness, callId: string, endpoint: string, commandId?: string) {
  return h.control.dial({
    ...command(callId, commandId),
    endpoint,
    kind: callV1.LegKind.LEG_KIND_INTERNAL,
    callerId: MAIN_NUMBER,
    timeoutSeconds: 600,
    tags: {},
    waitForOutcome: true,
  });
}

export function callEnded(h: Harness, callId: string): Promise<callV1.CallEnded> {
  return h.events.waitFor<callV1.CallEnded>('call.ended', (event) => event.callId === callId);
}
