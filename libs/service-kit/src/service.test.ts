import * as grpc from '@grpc/grpc-js';
import { callControlV1 } from '@switchboard/proto';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from './auth.js';
import { currentPrincipal } from './grpc-server.js';
import type { ServicePolicy } from './policy.js';
import { runService, type RunningService } from './service.js';
import { deferred, testTokens } from '@switchboard/testkit';

const auth = testTokens();
const HealthClient = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => void;

function call<Req, Res>(method: Unary<Req, Res>, target: object, request: Req, token?: string): Promise<Res> {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    method.call(target, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

function healthStatus(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) =>
    (client as unknown as { check: Unary<{ service: string }, { status: string }> }).check(
      { service: '' },
      new grpc.Metadata(),
      (error, response) => (error ? reject(error) : resolve(response.status)),
    ),
  );
}

const token = (principal: Principal) => auth.token(principal);

// Answer as routing (a service, any tenant) or a tenant's admin would; every other method is closed.
const callControlPolicy = Object.fromEntries(
  Object.keys(callControlV1.CallControlServiceService).map((key) => [
    key,
    {
      description: key,
      audit: false,
      allow: key === 'answer' ? { admin: 'tenant', service: 'any-tenant' } : {},
    },
  ]),
) as unknown as ServicePolicy<typeof callControlV1.CallControlServiceService>;

let running: RunningService;
let client: callControlV1.CallControlServiceClient;
let health: grpc.Client;
const answered: Array<{ callId: string; by: Principal }> = [];
const heldCall = { entered: deferred(), release: deferred() };
let stopping: AbortSignal | undefined;

beforeAll(async () => {
  running = await runService(
    {
      name: 'kit-test',
      version: '0.0.0',
      grpc: { reflectionProtos: ['switchboard/callcontrol/v1/call_control.proto'] },
      start: ({ grpc: server, track, stopping: signal }) => {
        stopping = signal;
        const implementation: Pick<callControlV1.CallControlServiceServer, 'answer'> = {
          answer: (rpc, callback) => {
            answered.push({ callId: rpc.request.callId, by: currentPrincipal() });
            if (rpc.request.callId !== 'held') return callback(null, {});
            heldCall.entered.resolve();
            void track(heldCall.release.promise).then(() => callback(null, {}));
          },
        };
        const notUsed: grpc.handleUnaryCall<unknown, unknown> = (_rpc, callback) =>
          callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
        const all = Object.fromEntries(
          Object.keys(callControlV1.CallControlServiceService).map((name) => [name, notUsed]),
        );
        server?.addService(
          'switchboard.callcontrol.v1.CallControlService',
          callControlV1.CallControlServiceService,
          { ...all, ...implementation },
          callControlPolicy,
        );
      },
    },
    {
      env: { BIND_HOST: '127.0.0.1', HTTP_PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'silent', ...auth.env },
      handleSignals: false,
    },
  );
  const address = `127.0.0.1:${running.grpcPort}`;
  client = new callControlV1.CallControlServiceClient(address, grpc.credentials.createInsecure());
  health = new HealthClient(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  heldCall.release.resolve();
  client?.close();
  health?.close();
  await running?.shutdown('test over');
});

const answer = (request: { tenantId: string; callId: string }, bearer?: string) =>
  call(
    client.answer as Unary<callControlV1.AnswerRequest, callControlV1.AnswerResponse>,
    client,
    { ...request, commandId: '' },
    bearer,
  );

describe('gRPC server from the kit', () => {
  it('answers the standard health check with SERVING', async () => {
    expect(await healthStatus(health)).toBe('SERVING');
  });

  it('rejects a call without a token as UNAUTHENTICATED', async () => {
    await expect(answer({ tenantId: 't-a', callId: 'c1' })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    await expect(answer({ tenantId: 't-a', callId: 'c1' }, 'not-a-jwt')).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'token invalid (not a signed JWT)',
    });
    const foreign = await testTokens().token({
      subject: 'mallory',
      tenantId: 't-a',
      role: 'admin',
    });
    await expect(answer({ tenantId: 't-a', callId: 'c1' }, foreign)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringMatching(/^token signed by an unknown key \(kid "[^"]+"\); this service accepts "/),
    });
    expect(answered).toHaveLength(0);
  });

  it("denies tenant A's token access to tenant B and an agent the method, and lets a service token serve any tenant", async () => {
    const adminOfA = await token({ subject: 'anna', tenantId: 't-a', role: 'admin' });
    await expect(answer({ tenantId: 't-b', callId: 'c2' }, adminOfA)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'admin of tenant t-a may not call CallControlService/Answer for tenant t-b',
    });
    const agent = await token({ subject: 'a-1', tenantId: 't-a', role: 'agent' });
    await expect(answer({ tenantId: 't-a', callId: 'c2' }, agent)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'agent may not call CallControlService/Answer (allowed: admin, service)',
    });
    await answer({ tenantId: 't-a', callId: 'c3' }, adminOfA);
    const routing = await token({ subject: 'routing', tenantId: 'platform', role: 'service' });
    await answer({ tenantId: 't-b', callId: 'c4' }, routing);
    expect(answered.map((entry) => [entry.callId, entry.by.subject])).toEqual([
      ['c3', 'anna'],
      ['c4', 'routing'],
    ]);
  });

  it('serves /healthz, /readyz and /metrics over HTTP', async () => {
    const base = `http://127.0.0.1:${running.httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, draining: false, checks: {} });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    // The earlier tests' calls: two answered, three refused without a valid token, two denied.
    const method = 'rpc_method="switchboard.callcontrol.v1.CallControlService/Answer"';
    expect(text).toContain(`rpc_server_duration_count{rpc_system="grpc",${method},rpc_status="OK"`);
    expect(text).toMatch(new RegExp(`rpc_status="UNAUTHENTICATED"[^}]*} 3`));
    expect(text).toMatch(new RegExp(`rpc_status="PERMISSION_DENIED"[^}]*} 2`));
    // Denials are also counted by the caller's role.
    const denied = `rpc_server_denied_total{rpc_system="grpc",${method}`;
    expect(text).toMatch(new RegExp(`${denied},role="admin"[^}]*} 1`));
    expect(text).toMatch(new RegExp(`${denied},role="agent"[^}]*} 1`));
  });

  it('reports NOT_SERVING and refuses new calls while in-flight work drains, then exits cleanly', async () => {
    const routing = await token({ subject: 'routing', tenantId: 'platform', role: 'service' });
    const held = answer({ tenantId: 't-a', callId: 'held' }, routing);
    await heldCall.entered.promise;

    expect(stopping?.aborted).toBe(false);
    const stopped = running.shutdown('test');
    // Signalled at once, while the held call is still in flight: work handed on is not waited for.
    expect(stopping?.aborted).toBe(true);
    expect(await healthStatus(health)).toBe('NOT_SERVING');
    expect((await fetch(`http://127.0.0.1:${running.httpPort}/readyz`)).status).toBe(503);
    await expect(answer({ tenantId: 't-a', callId: 'late' }, routing)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });

    heldCall.release.resolve();
    await held;
    expect(await stopped).toBe(0);
    expect(answered.map((entry) => entry.callId)).not.toContain('late');
  });
});
