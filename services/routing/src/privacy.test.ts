import { Kvm, type KV } from '@nats-io/kv';
import type { directoryServiceV1 } from '@switchboard/proto';
import {
  DIRECTORY_RPC_DEFINITION,
  directoryRpcClient,
  directoryRpcServeSubject,
  privacyEraseClient,
  servePrivacyErase,
} from '@switchboard/rpc-clients';
import { connectNats, createLogger, serveNatsRpc, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callKey, type CallState } from './call-state.js';
import type { CallbackRequest } from './callback-worker.js';
import { RoutingPrivacy } from './privacy.js';

const logger = createLogger({ service: 'routing-privacy-test', level: 'silent' });
const tenantId = 't-privacy';
const CITIZEN = '+494621234567';
const OTHER = '+4940987654';

let server: NatsServer;
let nats: NatsHandle;
let calls: KV;
let callbacks: KV;
let privacy: RoutingPrivacy;

const state = (callId: string, startedAt: string, caller: string, step: CallState['step']): CallState => ({
  tenantId,
  callId,
  adapterId: 'adapter-1',
  direction: 'inbound',
  dialedNumber: '+4946248000',
  caller,
  callerChannel: 'PJSIP/trunk-00000001',
  startedAt: Date.parse(startedAt),
  step,
  owner: 'routing-1',
  answered: true,
  siteId: 'rathaus',
  overflows: 0,
  excluded: [],
  attempt: 1,
  target: { via: 'forward', endpoint: OTHER, callerId: '+4946248000', homeOffice: true, tags: {} },
});

const callback = (callId: string, requestedAt: string, number: string): CallbackRequest => ({
  tenantId,
  callId,
  number,
  departmentId: 'standesamt',
  requestedAt,
  adapterId: 'adapter-1',
});

const read = async <T>(kv: KV, key: string): Promise<T | undefined> => {
  const entry = await kv.get(key);
  return entry?.operation === 'PUT' ? entry.json<T>() : undefined;
};

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials(TESTER),
    name: 'routing-privacy-test',
    logger,
  });
  const kvm = new Kvm(nats.js);
  calls = await kvm.create('routing-calls', { history: 1 });
  callbacks = await kvm.create('routing-callbacks', { history: 1 });
  // The directory's ExportTenant as routing asks it: this tenant keeps numbers for 30 days.
  serveNatsRpc(nats, {
    definition: { exportTenant: DIRECTORY_RPC_DEFINITION.exportTenant },
    handlers: {
      exportTenant: async (request: directoryServiceV1.ExportTenantRequest) => ({
        document: JSON.stringify({ tenant: { tenantId: request.tenantId, privacy: { retentionDays: 30 } } }),
      }),
    },
    subjectFor: directoryRpcServeSubject,
    logger,
  });
  privacy = new RoutingPrivacy(calls, callbacks, directoryRpcClient(nats), logger);
  servePrivacyErase(nats, { service: 'routing', erase: (tenant, number) => privacy.erase(tenant, number), logger });
  await calls.put(
    callKey(tenantId, 'old-ended'),
    JSON.stringify(state('old-ended', '2026-01-10T09:00:00Z', CITIZEN, 'ended')),
  );
  await calls.put(
    callKey(tenantId, 'old-live'),
    JSON.stringify(state('old-live', '2026-01-10T09:00:00Z', CITIZEN, 'queued')),
  );
  await calls.put(
    callKey(tenantId, 'new-ended'),
    JSON.stringify(state('new-ended', '2026-03-10T09:00:00Z', CITIZEN, 'ended')),
  );
  await callbacks.put(`${tenantId}.old`, JSON.stringify(callback('old', '2026-01-10T09:05:00Z', OTHER)));
  await callbacks.put(`${tenantId}.new`, JSON.stringify(callback('new', '2026-03-10T09:05:00Z', CITIZEN)));
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
});

describe('retention in call state and callback requests', () => {
  it("withdraws old callback requests and shortens ended calls older than the tenant's days", async () => {
    expect(await privacy.sweep(new Date('2026-03-01T00:00:00Z'))).toBe(2);
    expect(await read(callbacks, `${tenantId}.old`)).toBeUndefined();
    expect(await read(callbacks, `${tenantId}.new`)).toMatchObject({ number: CITIZEN });
    expect(await read(calls, callKey(tenantId, 'old-ended'))).toMatchObject({
      caller: '+494621234xxx',
      dialedNumber: '+4946248xxx',
      target: { endpoint: '+4940987xxx', callerId: '+4946248xxx' },
      callerChannel: 'PJSIP/trunk-00000001',
      callId: 'old-ended',
    });
    // A call in progress is its replica's: it is left as it is until it has ended.
    expect(await read(calls, callKey(tenantId, 'old-live'))).toMatchObject({ caller: CITIZEN });
    expect(await privacy.sweep(new Date('2026-03-01T00:00:00Z'))).toBe(0);
  });
});

describe('erase', () => {
  it('withdraws callback requests for the number and shortens it in ended calls, once', async () => {
    const erase = privacyEraseClient(nats, 'routing', 10_000);
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes).toEqual([
      { service: 'routing', kind: 'call-state', count: '1' },
      { service: 'routing', kind: 'callback', count: '1' },
    ]);
    expect(await read(callbacks, `${tenantId}.new`)).toBeUndefined();
    expect(await read(calls, callKey(tenantId, 'new-ended'))).toMatchObject({
      caller: '+494621234xxx',
      target: { endpoint: OTHER },
    });
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes.map((change) => change.count)).toEqual([
      '0',
      '0',
    ]);
  });
});
