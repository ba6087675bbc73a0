import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KV_BUCKETS } from '@switchboard/events';
import { directoryServiceV1, directoryV1, presenceV1 } from '@switchboard/proto';
import { connectNats, createLogger, runService, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { spawnService, type ServiceProcess } from '@switchboard/stack';
import {
  eventually,
  startMongo,
  startNats,
  type MongoServer,
  type NatsServer,
  TESTER,
  testTokens,
} from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../test/harness.js';
import { AgentStore } from './agent-store.js';
import { DirectorySync } from './directory-sync.js';
import { agentCounts } from './metrics.js';
import { presenceService } from './service.js';

const TOKENS = testTokens();
const TENANT = 't-sync';
const BUCKET = KV_BUCKETS.presence;
const { AgentState } = presenceV1;
const quiet = createLogger({ service: 'test', level: 'silent' });

const tenantDocument = {
  tenant: { tenantId: TENANT, name: 'Gemeinde Sync', federalState: 'SH' },
  sites: [
    {
      siteId: 'rathaus',
      name: 'Rathaus',
      kind: 'town-hall',
      address: { street: 'Dorfstraße 1', postalCode: '24848', city: 'Kropp' },
      headcount: 3,
    },
  ],
  departments: [
    {
      departmentId: 'meldeamt',
      name: 'Meldeamt',
      siteId: 'rathaus',
      wrapUpSeconds: 20,
      tierDelaySeconds: 30,
      members: [{ staffId: 's-1' }, { staffId: 's-2', priority: 2 }],
    },
    {
      departmentId: 'standesamt',
      name: 'Standesamt',
      siteId: 'rathaus',
      wrapUpSeconds: 45,
      members: [{ staffId: 's-2' }],
    },
  ],
  staff: [
    {
      staffId: 's-1',
      displayName: 'Anke Hansen',
      extension: '11',
      devices: ['sync-11'],
      skills: ['registration', 'english-c1'],
      siteId: 'rathaus',
    },
    {
      staffId: 's-2',
      displayName: 'Jens Thomsen',
      extension: '12',
      devices: ['sync-12'],
      siteId: 'rathaus',
      homeOffice: true,
      homeOfficeNumber: '+4915124658343',
    },
    { staffId: 's-3', displayName: 'Maren Jessen', extension: '13', devices: ['sync-13'], siteId: 'rathaus' },
  ],
};

let nats: NatsServer;
let mongo: MongoServer;
let directory: ServiceProcess;
let presence: RunningService;
let bus: NatsHandle;
let store: AgentStore;
let directoryClient: directoryServiceV1.DirectoryServiceClient;
let presenceClient: presenceV1.PresenceServiceClient;
let metadata: grpc.Metadata;
let presenceApi: ReturnType<typeof adminApi>;
let token: string;

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

function directoryCall<Req, Res>(method: string, request: Req): Promise<Res> {
  type Unary = (
    request: Req,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, response: Res) => void,
  ) => unknown;
  const fn = (directoryClient as unknown as Record<string, Unary>)[method]!;
  return new Promise((resolve, reject) =>
    fn.call(directoryClient, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

function connectPresence(): void {
  presenceClient?.close();
  presenceClient = new presenceV1.PresenceServiceClient(
    `127.0.0.1:${presence.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  presenceApi = adminApi(presenceClient, token);
}

const agent = (agentId: string) => store.get(TENANT, agentId)?.agent;

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  // The directory as its own process from its dist (a service never imports another); `info`
  // logging: the start waits for the kit's ready line.
  directory = await spawnService({
    name: 'directory',
    replica: 0,
    env: {
      ...env({ MONGO_URL: mongo.url, MONGO_DB: 'presence_sync_directory', LOG_LEVEL: 'info' }),
      ...nats.env('directory'),
    },
    logDir: await mkdtemp(path.join(tmpdir(), 'sb-presence-sync-')),
    readyTimeoutMs: 60_000,
  });
  presence = await runService(presenceService, {
    handleSignals: false,
    env: { ...env({ PRESENCE_BUCKET: BUCKET }), ...nats.env('presence') },
  });
  bus = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'presence-sync-test',
    logger: quiet,
  });
  store = await AgentStore.open(bus, { bucket: BUCKET, replicas: 1, logger: quiet });
  token = await TOKENS.token({
    subject: 'admin',
    tenantId: TENANT,
    role: 'admin',
  });
  metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  directoryClient = new directoryServiceV1.DirectoryServiceClient(
    `127.0.0.1:${directory.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  connectPresence();
}, 60_000);

afterAll(async () => {
  directoryClient?.close();
  presenceClient?.close();
  store?.close();
  await bus?.connection.close();
  await presence?.shutdown('test over');
  await directory?.stop();
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('presence follows the directory', () => {
  it('creates an agent per staff member from an import, with departments, wrap-up, tiers, skills, devices and home office', async () => {
    await directoryCall('importTenant', { tenantId: TENANT, document: JSON.stringify(tenantDocument) });
    await eventually(() => (store.list(TENANT).length === 3 ? true : undefined), 'three agents');
    expect(agent('s-1')).toMatchObject({
      displayName: 'Anke Hansen',
      departments: [{ departmentId: 'meldeamt', wrapUpSeconds: 20, priority: 0, tierDelaySeconds: 30 }],
      devices: ['PJSIP/sync-11'],
      skills: [
        { name: 'registration', priority: 1 },
        { name: 'english-c1', priority: 1 },
      ],
      state: AgentState.AGENT_STATE_OFFLINE,
      homeOffice: false,
    });
    expect(agent('s-2')).toMatchObject({
      departments: [
        { departmentId: 'meldeamt', wrapUpSeconds: 20, priority: 2, tierDelaySeconds: 30 },
        { departmentId: 'standesamt', wrapUpSeconds: 45, priority: 0, tierDelaySeconds: 0 },
      ],
      homeOffice: true,
      homeOfficeNumber: '+4915124658343',
    });
  });

  it('applies a staff change to the profile and leaves the live state alone', async () => {
    await presenceApi.setState({ tenantId: TENANT, agentId: 's-1', state: AgentState.AGENT_STATE_AVAILABLE });
    await eventually(() => (agent('s-1')?.state === AgentState.AGENT_STATE_AVAILABLE ? true : undefined), 'available');
    await directoryCall('updateStaff', {
      tenantId: TENANT,
      staff: directoryV1.Staff.fromPartial({ ...tenantDocument.staff[0], devices: ['sync-11b', 'sync-11'] }),
    });
    const changed = await eventually(
      () => (agent('s-1')?.devices[0] === 'PJSIP/sync-11b' ? agent('s-1') : undefined),
      'new device',
    );
    expect(changed.state).toBe(AgentState.AGENT_STATE_AVAILABLE);
  });

  it('follows a department change (wrap-up) and removes a deleted staff member', async () => {
    const [meldeamt] = tenantDocument.departments;
    await directoryCall('updateDepartment', {
      tenantId: TENANT,
      department: directoryV1.Department.fromPartial({ ...meldeamt, wrapUpSeconds: 60 }),
    });
    await eventually(() => (agent('s-1')?.departments[0]?.wrapUpSeconds === 60 ? true : undefined), 'wrap-up of 60 s');
    await directoryCall('deleteStaff', { tenantId: TENANT, staffId: 's-3' });
    await eventually(() => (agent('s-3') === undefined ? true : undefined), 's-3 removed');
    expect(
      store
        .list(TENANT)
        .map((a) => a.agentId)
        .sort(),
    ).toEqual(['s-1', 's-2']);
  });

  it('changes nothing when the same directory state is applied again (redelivery)', async () => {
    const sync = new DirectorySync(bus, store, quiet);
    expect(await sync.syncTenant(TENANT)).toBe(0);
    expect(await sync.knownTenants(bus.jsm)).toContain(TENANT);
  });

  it('loads the tenant again at start, so a change it missed converges', async () => {
    await presence.shutdown('restart');
    await store.remove(TENANT, 's-1');
    presence = await runService(presenceService, {
      handleSignals: false,
      env: { ...env({ PRESENCE_BUCKET: BUCKET }), ...nats.env('presence') },
    });
    connectPresence();
    const back = await eventually(() => agent('s-1'), 's-1 back from the start-up sync');
    expect(back).toMatchObject({ devices: ['PJSIP/sync-11b', 'PJSIP/sync-11'], state: AgentState.AGENT_STATE_OFFLINE });
    await presenceApi.setState({ tenantId: TENANT, agentId: 's-1', state: AgentState.AGENT_STATE_AVAILABLE });
    await eventually(() => (agent('s-1')?.state === AgentState.AGENT_STATE_AVAILABLE ? true : undefined), 'available');
  });

  it('counts agents per department and state for the presence.agents gauge', () => {
    const counts = agentCounts(store).filter((row) => row.count > 0);
    expect(counts).toEqual(
      expect.arrayContaining([
        { tenant: TENANT, department: 'meldeamt', state: 'available', count: 1 },
        { tenant: TENANT, department: 'meldeamt', state: 'offline', count: 1 },
        { tenant: TENANT, department: 'standesamt', state: 'offline', count: 1 },
      ]),
    );
    expect(counts).toHaveLength(3);
  });
});
