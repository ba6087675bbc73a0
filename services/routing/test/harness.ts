import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { DeliverPolicy } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import { startAriSim, type AriSim, type EndpointBehavior } from '@switchboard/ari-sim';
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import {
  callControlV1,
  type callV1,
  directoryServiceV1,
  ivrServiceV1,
  presenceV1,
  routingV1,
} from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { spawnService, type ServiceName, type ServiceProcess } from '@switchboard/stack';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER, testTokens } from '@switchboard/testkit';

// The whole call path on loopback: NATS, FerretDB and the ARI emulator in this process; the
// adapter, directory, ivr and presence as child processes from their built dist (a service never
// imports another), and routing as child processes too (so a test can SIGKILL one).

export const TENANT = 't-route';
export const ADAPTER_ID = 'pbx-route';
const TOKENS = testTokens();
const ROUTING_DIR = fileURLToPath(new URL('..', import.meta.url));
const quiet = createLogger({ service: 'routing-test', level: 'silent' });

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => unknown;

/** Promise form of a grpc-js unary method, with a service token. */
function unary<Req, Res>(client: grpc.Client, method: Unary<Req, Res>, token: string) {
  return (request: Req) =>
    new Promise<Res>((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      method.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response)));
    });
}

export interface LoggedEvent {
  event: 'started' | 'leg_updated' | 'ended';
  payload: callV1.CallStarted | callV1.CallLegUpdated | callV1.CallEnded;
}

/** Every call event on the bus, in stream order, with waits for what a test expects. */
export class CallLog {
  readonly events: LoggedEvent[] = [];
  private readonly waiters = new Set<() => void>();

  async follow(bus: NatsHandle): Promise<void> {
    const consumer = await bus.js.consumers.get(CALLS_STREAM.name, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    void (async () => {
      for await (const message of messages) {
        const event = message.subject.split('.').at(-1);
        if (event === 'started') this.push({ event, payload: CallEvents.started.codec.decode(message.data) });
        if (event === 'leg_updated') this.push({ event, payload: CallEvents.legUpdated.codec.decode(message.data) });
        if (event === 'ended') this.push({ event, payload: CallEvents.ended.codec.decode(message.data) });
      }
    })().catch(() => undefined);
  }

  private push(logged: LoggedEvent): void {
    this.events.push(logged);
    for (const waiter of [...this.waiters]) waiter();
  }

  started(callId?: string): callV1.CallStarted[] {
    return this.of<callV1.CallStarted>('started').filter((event) => !callId || event.callId === callId);
  }

  legs(callId: string): callV1.CallLegUpdated[] {
    return this.of<callV1.CallLegUpdated>('leg_updated').filter((event) => event.callId === callId);
  }

  ended(callId: string): callV1.CallEnded | undefined {
    return this.of<callV1.CallEnded>('ended').find((event) => event.callId === callId);
  }

  of<T>(event: LoggedEvent['event']): T[] {
    return this.events.filter((logged) => logged.event === event).map((logged) => logged.payload as T);
  }

  /** Resolves with `check()`'s value once it is defined (checked now and after every event). */
  waitUntil<T>(what: string, check: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined || value === false) return false;
        this.waiters.delete(attempt);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(attempt);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      if (!attempt()) this.waiters.add(attempt);
    });
  }
}

export interface RoutingProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

export interface Stack {
  sim: AriSim;
  bus: NatsHandle;
  log: CallLog;
  /** Call ids of the Dial commands routing sent, in the order it sent them. */
  dials: string[];
  routing: RoutingProcess[];
  /** The ivr service's process (a test may stop it; the reason is for the reader). */
  ivrService: { shutdown(reason: string): Promise<void> };
  directory: ReturnType<typeof directoryApi>;
  ivr: ReturnType<typeof ivrApi>;
  presence: ReturnType<typeof presenceApi>;
  routingApi(port: number): ReturnType<typeof routingClient>;
  /** Places an inbound call and resolves with its call id once call.started was published. */
  call(options: Parameters<AriSim['placeCall']>[0]): Promise<string>;
  /** Another routing replica; `clockOffsetMs` shifts its clock (test/shifted-clock.mjs). */
  startRouting(id: string, clockOffsetMs?: number): Promise<RoutingProcess>;
  /** Resolves with an agent's stored presence once it matches. */
  waitForAgent(
    agentId: string,
    match: (agent: presenceV1.Agent) => boolean,
    timeoutMs?: number,
  ): Promise<presenceV1.Agent>;
  /** Resolves once the number of callers in the department's queue (`routing-queue` bucket) matches. */
  waitForQueue(departmentId: string, match: (size: number) => boolean, timeoutMs?: number): Promise<void>;
  /** Every presence state an agent went through since the stack started, in order. */
  agentStates(agentId: string): presenceV1.AgentState[];
  stop(): Promise<void>;
}

function directoryApi(client: directoryServiceV1.DirectoryServiceClient, token: string) {
  return { importTenant: unary(client, client.importTenant as never, token) };
}

function ivrApi(client: ivrServiceV1.IvrServiceClient, token: string) {
  return {
    saveMenus: unary<Partial<ivrServiceV1.SaveMenusRequest>, ivrServiceV1.SaveMenusResponse>(
      client,
      client.saveMenus as never,
      token,
    ),
  };
}

function presenceApi(client: presenceV1.PresenceServiceClient, token: string) {
  return {
    upsertAgent: unary<presenceV1.UpsertAgentRequest, presenceV1.UpsertAgentResponse>(
      client,
      client.upsertAgent as never,
      token,
    ),
    setState: unary<presenceV1.SetStateRequest, presenceV1.SetStateResponse>(client, client.setState as never, token),
    setHomeOffice: unary<presenceV1.SetHomeOfficeRequest, presenceV1.SetHomeOfficeResponse>(
      client,
      client.setHomeOffice as never,
      token,
    ),
  };
}

function routingClient(client: routingV1.RoutingServiceClient, token: string) {
  return {
    listCalls: unary<routingV1.ListCallsRequest, routingV1.ListCallsResponse>(client, client.listCalls as never, token),
    getQueue: unary<routingV1.GetQueueRequest, routingV1.GetQueueResponse>(client, client.getQueue as never, token),
    getServiceLevel: unary<routingV1.GetServiceLevelRequest, routingV1.GetServiceLevelResponse>(
      client,
      client.getServiceLevel as never,
      token,
    ),
  };
}

export interface StackOptions {
  replicas: number;
  timeScale: number;
  endpoints?: Record<string, EndpointBehavior>;
  /**
   * Extra environment of the routing processes (e.g. an OTLP endpoint). Its `OTEL_*` entries go to
   * the adapter too: a call's trace starts there, and routing's flow continues it.
   */
  routingEnv?: Record<string, string>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const [nats, mongo]: [NatsServer, MongoServer] = await Promise.all([startNats(), startMongo()]);
    stops.push(
      () => nats.stop(),
      () => mongo.stop(),
    );
    const env = (extra: Record<string, string>) => ({
      ...TOKENS.env,
      DEVICE_SECRET_KEY: '3c9a5e07d1b84f26a0e7c5139d2b68f4e1a7c09b5d3f62e8a4c1b7d09e5f2a36',
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...extra,
    });
    const sim = await startAriSim({
      username: 'switchboard',
      password: 'ari-secret',
      timeScale: options.timeScale,
      endpoints: options.endpoints ?? {},
    });
    stops.push(() => sim.stop());
    const telemetry = Object.fromEntries(
      Object.entries(options.routingEnv ?? {}).filter(([name]) => name.startsWith('OTEL_')),
    );
    const logDir = await mkdtemp(path.join(tmpdir(), 'sb-routing-test-'));
    const start = async (name: ServiceName, extra: Record<string, string>): Promise<ServiceProcess> => {
      const service = await spawnService({
        name,
        replica: 0,
        // `info`: the start waits for the kit's ready line. Logs go to files in logDir, kept for a look
        // after a failure (as libs/stack keeps its own).
        env: {
          ...env(extra),
          ...nats.env(name),
          LOG_LEVEL: 'info',
          OTEL_SERVICE_NAME: name,
          ...(name === 'ari-adapter' ? telemetry : {}),
        },
        logDir,
        readyTimeoutMs: 60_000,
      });
      stops.push(() => service.stop());
      return service;
    };
    const starts = [
      start('ari-adapter', {
        ARI_URL: sim.url,
        ARI_USERNAME: 'switchboard',
        ARI_PASSWORD: 'ari-secret',
        ADAPTER_ID,
        // Calls from the emulator's trunk channels with `outbound` args fall to the fallback tenant.
        NUMBER_PLAN: JSON.stringify({
          fallbackTenant: TENANT,
          tenants: [{ tenantId: TENANT, numberPrefixes: ['+4946247'] }],
        }),
      }),
      start('directory', { MONGO_URL: mongo.url, MONGO_DB: 'routing_directory' }),
      start('ivr', { MONGO_URL: mongo.url, MONGO_DB: 'routing_ivr' }),
      start('presence', { PRESENCE_LEASE_SECONDS: '30' }),
    ] as const;
    // Side by side; every start settles first, so when one fails `stop` reaches each that started.
    await Promise.allSettled(starts);
    const [, directory, ivr, presence] = await Promise.all(starts);

    const bus = await connectNats({
      url: nats.url,
      credentials: nats.credentials(TESTER),
      name: 'routing-test',
      logger: quiet,
    });
    stops.push(() => bus.connection.close());
    const log = new CallLog();
    await log.follow(bus);
    const dials: string[] = [];
    const dialWatch = bus.connection.subscribe(`sb.${TENANT}.callcontrol.${ADAPTER_ID}.Dial`, {
      callback: (error, message) => {
        if (!error) dials.push(callControlV1.DialRequest.decode(message.data).callId);
      },
    });
    stops.push(async () => dialWatch.unsubscribe());

    const auth = TOKENS;
    const token = await auth.token({ subject: 'routing-test', tenantId: TENANT, role: 'admin' });
    const address = (service: ServiceProcess) => `127.0.0.1:${service.grpcPort}`;
    const insecure = grpc.credentials.createInsecure();
    const directoryClient = new directoryServiceV1.DirectoryServiceClient(address(directory), insecure);
    const ivrClient = new ivrServiceV1.IvrServiceClient(address(ivr), insecure);
    const presenceClient = new presenceV1.PresenceServiceClient(address(presence), insecure);
    const routingClients: grpc.Client[] = [];
    stops.push(async () => {
      for (const client of [directoryClient, ivrClient, presenceClient, ...routingClients]) client.close();
    });

    // Presence's bucket, followed for agent states (wrap-up between calls).
    const presenceKv = await new Kvm(bus.js).open('presence');
    const agents = new Map<string, presenceV1.Agent>();
    const history = new Map<string, presenceV1.AgentState[]>();
    const agentWaiters = new Set<() => void>();
    const watch = await presenceKv.watch({ key: `${TENANT}.>`, include: KvWatchInclude.AllHistory });
    stops.push(async () => watch.stop());
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT') continue;
        const agent = presenceV1.Agent.decode(entry.value);
        agents.set(agent.agentId, agent);
        const states = history.get(agent.agentId) ?? [];
        if (states.at(-1) !== agent.state) states.push(agent.state);
        history.set(agent.agentId, states);
        for (const waiter of [...agentWaiters]) waiter();
      }
    })().catch(() => undefined);

    const queued = new Map<string, Set<string>>();
    const routing: RoutingProcess[] = [];
    const startRouting = async (id: string, clockOffsetMs?: number): Promise<RoutingProcess> => {
      const shifted = clockOffsetMs === undefined ? [] : ['--import', './test/shifted-clock.mjs'];
      const child = spawn(
        process.execPath,
        [...shifted, '--import', '@switchboard/service-kit/instrument', 'dist/main.js'],
        {
          cwd: ROUTING_DIR,
          env: {
            PATH: process.env['PATH'] ?? '',
            ...env({
              ...nats.env('routing'),
              LOG_LEVEL: 'info',
              OTEL_SERVICE_NAME: 'routing',
              ROUTING_REPLICA_ID: id,
              ROUTING_ACK_WAIT_MS: '2000',
              ROUTING_QUEUE_RETRY_MS: '1000',
              // One position announcement per caller: a prompt still playing delays the adapter's
              // dial for that caller, which would make the answer order of the 40-caller test racy.
              ROUTING_ANNOUNCE_INTERVAL_MS: '600000',
              ROUTING_CALLBACK_INTERVAL_MS: '200',
              ROUTING_CALLBACK_RING_SECONDS: '5',
              ...(clockOffsetMs === undefined ? {} : { TEST_CLOCK_OFFSET_MS: String(clockOffsetMs) }),
              ...options.routingEnv,
            }),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const output: string[] = [];
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ports = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
        let buffered = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) {
            output.push(line);
            if (process.env['TEST_ROUTING_LOG']) process.stderr.write(`[${id}] ${line}\n`);
            if (line.includes('"routing ready"')) resolve(JSON.parse(line) as { grpcPort: number; httpPort: number });
          }
        });
        child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
        void exited.then((code) =>
          reject(new Error(`routing ${id} exited (${code}) before ready:\n${output.join('\n')}`)),
        );
      });
      const running: RoutingProcess = { id, child, ...ports, output, exited };
      stops.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      });
      routing.push(running);
      return running;
    };
    for (let index = 0; index < options.replicas; index++) await startRouting(`routing-${index + 1}`);

    // The routing queue bucket, followed to see callers waiting.
    const queueKv = await new Kvm(bus.js).open('routing-queue');
    const queueWatch = await queueKv.watch({ key: `${TENANT}.>` });
    stops.push(async () => queueWatch.stop());
    void (async () => {
      for await (const entry of queueWatch) {
        const departmentId = entry.key.split('.')[1]!;
        const keys = queued.get(departmentId) ?? new Set<string>();
        if (entry.operation === 'PUT') keys.add(entry.key);
        else keys.delete(entry.key);
        queued.set(departmentId, keys);
        for (const waiter of [...agentWaiters]) waiter();
      }
    })().catch(() => undefined);

    const stack: Stack = {
      sim,
      bus,
      log,
      dials,
      routing,
      ivrService: { shutdown: () => ivr.stop() },
      directory: directoryApi(directoryClient, token),
      ivr: ivrApi(ivrClient, token),
      presence: presenceApi(presenceClient, token),
      routingApi: (port) => {
        const client = new routingV1.RoutingServiceClient(`127.0.0.1:${port}`, insecure);
        routingClients.push(client);
        return routingClient(client, token);
      },
      call: async (call) => {
        const channelId = sim.placeCall(call);
        await log.waitUntil(`call.started of ${channelId}`, () => log.started(channelId)[0]);
        return channelId;
      },
      startRouting,
      waitForAgent: (agentId, match, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          const attempt = () => {
            const agent = agents.get(agentId);
            if (!agent || !match(agent)) return false;
            agentWaiters.delete(attempt);
            clearTimeout(timer);
            resolve(agent);
            return true;
          };
          const timer = setTimeout(() => {
            agentWaiters.delete(attempt);
            reject(new Error(`agent ${agentId} never matched`));
          }, timeoutMs);
          if (!attempt()) agentWaiters.add(attempt);
        }),
      waitForQueue: (departmentId, match, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          const attempt = () => {
            if (!match(queued.get(departmentId)?.size ?? 0)) return false;
            agentWaiters.delete(attempt);
            clearTimeout(timer);
            resolve();
            return true;
          };
          const timer = setTimeout(() => {
            agentWaiters.delete(attempt);
            reject(new Error(`queue ${departmentId} never matched (${queued.get(departmentId)?.size ?? 0} callers)`));
          }, timeoutMs);
          if (!attempt()) agentWaiters.add(attempt);
        }),
      agentStates: (agentId) => [...(history.get(agentId) ?? [])],
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
