import * as grpc from '@grpc/grpc-js';
import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { presenceV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  runService,
  serveNatsRpc,
  type NatsHandle,
  type RunningService,
} from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER, testTokens } from '@switchboard/testkit';
import {
  DIRECTORY_RPC_DEFINITION,
  directoryRpcServeSubject,
  presenceRpcClient,
  type PresenceRpcClient,
} from '@switchboard/rpc-clients';
import { presenceService } from '../src/service.js';

export const TOKENS = testTokens();
/** The bucket NATS permissions grant presence (libs/events); each test has a NATS of its own. */
export const BUCKET = KV_BUCKETS.presence;

type Agent = presenceV1.Agent;
type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => unknown;

/** The gRPC client with promises, authenticated as an admin of one tenant (reservations: `rpc`, over NATS). */
export function adminApi(client: presenceV1.PresenceServiceClient, token: string) {
  const call =
    <Req, Res>(method: Unary<Req, Res>, complete: (partial: Req) => Req = (request) => request) =>
    (partial: Req) =>
      new Promise<Res>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token}`);
        method.call(client, complete(partial), metadata, (error, response) =>
          error ? reject(error) : resolve(response),
        );
      });
  return {
    upsertAgent: call<Partial<presenceV1.UpsertAgentRequest>, presenceV1.UpsertAgentResponse>(
      client.upsertAgent as never,
      presenceV1.UpsertAgentRequest.fromPartial,
    ),
    setState: call<presenceV1.SetStateRequest, presenceV1.SetStateResponse>(client.setState as never),
    setHomeOffice: call<presenceV1.SetHomeOfficeRequest, presenceV1.SetHomeOfficeResponse>(
      client.setHomeOffice as never,
    ),
    getAgent: call<presenceV1.GetAgentRequest, presenceV1.GetAgentResponse>(client.getAgent as never),
    listAgents: call<presenceV1.ListAgentsRequest, presenceV1.ListAgentsResponse>(client.listAgents as never),
  };
}

export interface Harness {
  nats: NatsServer;
  bus: NatsHandle;
  replicas: RunningService[];
  kv: KV;
  rpc: PresenceRpcClient;
  grpcClient: presenceV1.PresenceServiceClient;
  token(tenantId: string): Promise<string>;
  api(tenantId: string): Promise<ReturnType<typeof adminApi>>;
  /** Resolves with the agent once its stored state matches (current or a later write). */
  waitForAgent(tenantId: string, agentId: string, match: (agent: Agent) => boolean, timeoutMs?: number): Promise<Agent>;
  /** Every value the agent is written with from now on, so a short state (wrap-up) is not missed. */
  followAgent(tenantId: string, agentId: string): Promise<AgentFollower>;
  /** The tenant's aggregate-only statistics setting as the directory answers it (before presence first asks). */
  setAggregateOnly(tenantId: string, aggregateOnly: boolean): void;
  stop(): Promise<void>;
}

export interface AgentFollower {
  /** The next written value (after the last one returned) in `state`; rejects after `timeoutMs`. */
  reach(state: presenceV1.AgentState, timeoutMs?: number): Promise<Agent>;
  stop(): void;
}

async function followAgent(kv: KV, tenantId: string, agentId: string): Promise<AgentFollower> {
  const watch = await kv.watch({ key: `${tenantId}.${agentId}`, include: KvWatchInclude.UpdatesOnly });
  const written: Agent[] = [];
  let wake = () => {};
  void (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT') continue;
      written.push(presenceV1.Agent.decode(entry.value));
      wake();
    }
  })();
  let cursor = 0;
  const reach = async (state: presenceV1.AgentState, timeoutMs = 20_000): Promise<Agent> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `agent ${tenantId}/${agentId} was not written ${presenceV1.agentStateToJSON(state)} within ${timeoutMs} ms; ` +
                `written: ${written.map((agent) => presenceV1.agentStateToJSON(agent.state)).join(', ')}`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        const index = written.findIndex((agent, at) => at >= cursor && agent.state === state);
        if (index >= 0) {
          cursor = index + 1;
          return written[index]!;
        }
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), timedOut]);
      }
    } finally {
      clearTimeout(timer);
    }
  };
  return { reach, stop: () => watch.stop() };
}

/** NATS and two presence replicas sharing one bucket, as in production but on loopback. */
export async function startHarness(replicaCount = 2, env: Record<string, string> = {}): Promise<Harness> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const nats = await startNats();
    stops.push(() => nats.stop());
    const replicas: RunningService[] = [];
    for (let index = 0; index < replicaCount; index++) {
      const replica = await runService(presenceService, {
        handleSignals: false,
        env: {
          ...nats.env('presence'),
          PRESENCE_BUCKET: BUCKET,
          PRESENCE_LEASE_SECONDS: '30',
          ...TOKENS.env,
          BIND_HOST: '127.0.0.1',
          HTTP_PORT: '0',
          GRPC_PORT: '0',
          LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
          SHUTDOWN_TIMEOUT_MS: '5000',
          ...env,
        },
      });
      stops.push(() => replica.shutdown('test over'));
      replicas.push(replica);
    }
    const bus = await connectNats({
      url: nats.url,
      credentials: nats.credentials(TESTER),
      name: 'presence-test',
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    stops.push(() => bus.connection.close());
    // The directory's ExportTenant, which presence asks for a tenant's privacy settings.
    const aggregateOnly = new Map<string, boolean>();
    const directory = serveNatsRpc(bus, {
      definition: { exportTenant: DIRECTORY_RPC_DEFINITION.exportTenant },
      handlers: {
        exportTenant: async ({ tenantId }) => ({
          document: JSON.stringify({
            tenant: { tenantId, privacy: { aggregateOnlyStatistics: aggregateOnly.get(tenantId) ?? false } },
          }),
        }),
      },
      subjectFor: directoryRpcServeSubject,
      logger: createLogger({ service: 'test-directory', level: 'silent' }),
    });
    stops.push(async () => directory.forEach((subscription) => subscription.unsubscribe()));
    const kv = await new Kvm(bus.js).open(BUCKET);
    const grpcClient = new presenceV1.PresenceServiceClient(
      `127.0.0.1:${replicas[0]!.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    stops.push(async () => grpcClient.close());
    const auth = TOKENS;
    const token = (tenantId: string) => auth.token({ subject: `admin-${tenantId}`, tenantId, role: 'admin' });

    const waitForAgent = async (
      tenantId: string,
      agentId: string,
      match: (agent: Agent) => boolean,
      timeoutMs = 20_000,
    ) => {
      const watch = await kv.watch({ key: `${tenantId}.${agentId}`, include: KvWatchInclude.LastValue });
      const timer = setTimeout(() => watch.stop(), timeoutMs);
      try {
        for await (const entry of watch) {
          if (entry.operation !== 'PUT') continue;
          const agent = presenceV1.Agent.decode(entry.value);
          if (match(agent)) return agent;
        }
        throw new Error(`agent ${tenantId}/${agentId} did not reach the expected state within ${timeoutMs} ms`);
      } finally {
        clearTimeout(timer);
        watch.stop();
      }
    };

    return {
      nats,
      bus,
      replicas,
      kv,
      rpc: presenceRpcClient(bus, 10_000),
      grpcClient,
      token,
      api: async (tenantId) => adminApi(grpcClient, await token(tenantId)),
      waitForAgent,
      followAgent: (tenantId, agentId) => followAgent(kv, tenantId, agentId),
      setAggregateOnly: (tenantId, on) => aggregateOnly.set(tenantId, on),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
