import * as grpc from '@grpc/grpc-js';
import { routingV1 } from '@switchboard/proto';
import { createAuthenticator, createLogger, GrpcServer, grpcImplementation } from '@switchboard/service-kit';
import { testTokens, type TestTokens } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallState } from './call-state.js';
import { InFlightCalls } from './in-flight-calls.js';
import { routingPolicy } from './policy.js';
import { routingApi } from './server.js';
import { berlinDate, ServiceLevels } from './service-level.js';

// 2026-12-03 10:00 Berlin (09:00 UTC).
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);
const logger = { warn: () => undefined } as unknown as ConstructorParameters<typeof InFlightCalls>[0]['logger'];

function state(callId: string, change: Partial<CallState>): CallState {
  return {
    tenantId: 't1',
    callId,
    adapterId: 'a',
    direction: 'inbound',
    dialedNumber: '+4930100',
    caller: '+4930200',
    callerChannel: 'ch',
    startedAt: NOW - 120_000,
    step: 'entry',
    owner: 'r1',
    answered: false,
    siteId: 's',
    overflows: 0,
    excluded: [],
    attempt: 0,
    ...change,
  };
}

/** Feeds states through a follower as the watch delivers them (one revision per write). */
function follower(levels: ServiceLevels) {
  const calls = new InFlightCalls({ logger, onChange: () => undefined, serviceLevels: levels, now: () => 0 });
  let revision = 0;
  return (value: CallState | undefined, key = value ? `t1.${value.callId}` : '', created = NOW) =>
    calls.apply({
      key,
      operation: value ? 'PUT' : 'DEL',
      revision: ++revision,
      created: new Date(created),
      json: <T>() => value as T,
    });
}

/** The writes one call's flow makes, in order. */
function queuedThen(callId: string, department: string, enqueuedAt: number, last: Partial<CallState>[]): CallState[] {
  return [
    state(callId, { step: 'entry' }),
    state(callId, { step: 'queued', departmentId: department, enqueuedAt, queueKey: `k-${callId}` }),
    state(callId, { step: 'ringing', departmentId: department, enqueuedAt, agentId: 'ag' }),
    ...last.map((change) => state(callId, { departmentId: department, enqueuedAt, ...change })),
  ];
}

function feedDay(put: ReturnType<typeof follower>): void {
  const enq = NOW - 100_000;
  // Answered after 20 s (bridged, then ended by the hang-up: still one call).
  for (const s of queuedThen('c1', 'd1', enq, [
    { step: 'bridged', answeredAt: enq + 20_000 },
    { step: 'ended', endedReason: 'ended', answeredAt: enq + 20_000 },
  ]))
    put(s);
  // Answered after 45 s.
  for (const s of queuedThen('c2', 'd1', enq, [{ step: 'bridged', answeredAt: enq + 45_000 }])) put(s);
  // Answered at exactly 30 s: within.
  for (const s of queuedThen('c3', 'd1', enq, [{ step: 'bridged', answeredAt: enq + 30_000 }])) put(s);
  // Hung up while waiting.
  for (const s of queuedThen('c4', 'd1', enq, [{ step: 'ended', endedReason: 'abandoned' }])) put(s);
  // Overflowed to voicemail, then ended.
  for (const s of queuedThen('c5', 'd1', enq, [
    { step: 'voicemail', voicemail: { departmentId: 'd1', greeting: [] } },
    { step: 'ended', endedReason: 'announcement' },
  ]))
    put(s);
  // Another department; and a call that never queued (a direct call, bridged).
  for (const s of queuedThen('c6', 'd2', enq, [{ step: 'ended', endedReason: 'abandoned' }])) put(s);
  put(state('c7', { step: 'bridged', answeredAt: NOW }));
  // Still waiting: not counted yet.
  put(state('c8', { step: 'queued', departmentId: 'd1', enqueuedAt: enq }));
}

describe('ServiceLevels', () => {
  it('counts each queue call once by how its wait ended', () => {
    const levels = new ServiceLevels(() => NOW);
    feedDay(follower(levels));
    expect(levels.today('t1', 'd1')).toEqual({
      day: '2026-12-03',
      counts: { answered: 3, answeredWithinThreshold: 2, abandoned: 1, leftUnanswered: 1 },
    });
    expect(levels.today('t1', 'd2').counts).toEqual({
      answered: 0,
      answeredWithinThreshold: 0,
      abandoned: 1,
      leftUnanswered: 0,
    });
    expect(levels.departments('t1').sort()).toEqual(['d1', 'd2']);
    expect(levels.departments('t2')).toEqual([]);
  });

  it('does not count a call twice when its states are read again (a restart, a resumed watch)', () => {
    const levels = new ServiceLevels(() => NOW);
    const put = follower(levels);
    feedDay(put);
    feedDay(put);
    expect(levels.today('t1', 'd1').counts.answered).toBe(3);
    // A fresh replica reads the bucket's last values only: the same counts.
    const restarted = new ServiceLevels(() => NOW);
    const fresh = follower(restarted);
    const enq = NOW - 100_000;
    fresh(
      state('c1', {
        step: 'ended',
        endedReason: 'ended',
        departmentId: 'd1',
        enqueuedAt: enq,
        answeredAt: enq + 20_000,
      }),
    );
    fresh(state('c4', { step: 'ended', endedReason: 'abandoned', departmentId: 'd1', enqueuedAt: enq }));
    expect(restarted.today('t1', 'd1').counts).toEqual({
      answered: 1,
      answeredWithinThreshold: 1,
      abandoned: 1,
      leftUnanswered: 0,
    });
  });

  it('counts a wait left for another queue in its own department, once', () => {
    const levels = new ServiceLevels(() => NOW);
    const put = follower(levels);
    const enq = NOW - 100_000;
    const earlierWaits = [{ departmentId: 'd1', enqueuedAt: enq, endedAt: enq + 60_000 }];
    put(state('c9', { step: 'queued', departmentId: 'd1', enqueuedAt: enq }));
    // Overflowed after 60 s into d2, answered there 10 s later; then the hang-up's `ended`.
    const inD2 = { departmentId: 'd2', enqueuedAt: enq + 60_000, earlierWaits };
    put(state('c9', { step: 'queued', ...inD2 }));
    put(state('c9', { step: 'bridged', ...inD2, answeredAt: enq + 70_000 }));
    put(state('c9', { step: 'ended', endedReason: 'ended', ...inD2, answeredAt: enq + 70_000 }));
    expect(levels.today('t1', 'd1').counts).toEqual({
      answered: 0,
      answeredWithinThreshold: 0,
      abandoned: 0,
      leftUnanswered: 1,
    });
    expect(levels.today('t1', 'd2').counts).toEqual({
      answered: 1,
      answeredWithinThreshold: 1,
      abandoned: 0,
      leftUnanswered: 0,
    });
  });

  it('counts only waits that ended on the Berlin day, and starts from zero at midnight Berlin', () => {
    let now = NOW;
    const levels = new ServiceLevels(() => now);
    const put = follower(levels);
    // Yesterday 23:59 Berlin (22:59 UTC): not today.
    const yesterday = Date.UTC(2026, 11, 2, 22, 59);
    put(
      state('old', { step: 'ended', endedReason: 'abandoned', departmentId: 'd1', enqueuedAt: yesterday }),
      't1.old',
      yesterday,
    );
    // 00:30 Berlin on the 3rd is still 2 December in UTC: today in Berlin.
    const early = Date.UTC(2026, 11, 2, 23, 30);
    put(state('early', { step: 'bridged', departmentId: 'd1', enqueuedAt: early - 5_000, answeredAt: early }));
    expect(berlinDate(early)).toBe('2026-12-03');
    expect(levels.today('t1', 'd1').counts).toMatchObject({ answered: 1, abandoned: 0 });
    now = Date.UTC(2026, 11, 3, 23, 0); // midnight Berlin
    expect(levels.today('t1', 'd1')).toEqual({
      day: '2026-12-04',
      counts: { answered: 0, answeredWithinThreshold: 0, abandoned: 0, leftUnanswered: 0 },
    });
  });
});

type TokenClaims = Parameters<TestTokens['token']>[0];
/** An operator's tenant claim (`ANY_TENANT` of @switchboard/tokens). */
const ANY_TENANT = '*';

describe('GetServiceLevel', () => {
  const tokens = testTokens();
  const levels = new ServiceLevels(() => NOW);
  feedDay(follower(levels));
  let server: GrpcServer;
  let client: routingV1.RoutingServiceClient;

  beforeAll(async () => {
    server = new GrpcServer({
      authenticator: createAuthenticator({
        publicKeys: tokens.publicKeys,
        issuer: 'switchboard',
        audience: 'switchboard',
      }),
      logger: createLogger({ service: 'routing-service-level-test', level: 'silent' }),
    });
    // ListCalls and GetQueue are not asked here: no buckets behind them.
    server.addService(
      'switchboard.routing.v1.RoutingService',
      routingV1.RoutingServiceService,
      grpcImplementation(routingV1.RoutingServiceService, routingApi(undefined as never, undefined as never, levels)),
      routingPolicy,
    );
    const port = await server.listen('127.0.0.1', 0);
    server.setServing(true);
    client = new routingV1.RoutingServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await server?.shutdown(1_000);
  });

  async function ask(claims: TokenClaims, request: { tenantId: string; departmentIds: string[] }) {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await tokens.token(claims)}`);
    return new Promise<routingV1.GetServiceLevelResponse>((resolve, reject) =>
      client.getServiceLevel(request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }
  const admin: TokenClaims = { subject: 'a', tenantId: 't1', role: 'admin' };

  it('answers per department from memory, the requested ones or every one with calls today', async () => {
    const named = await ask(admin, { tenantId: 't1', departmentIds: ['d1', 'none'] });
    const zero = { answered: 0, answeredWithinThreshold: 0, abandoned: 0, leftUnanswered: 0 };
    expect(named.departments).toEqual([
      {
        departmentId: 'd1',
        offered: 5,
        answered: 3,
        answeredWithinThreshold: 2,
        abandoned: 1,
        leftUnanswered: 1,
        thresholdSeconds: 30,
        day: '2026-12-03',
      },
      { departmentId: 'none', offered: 0, ...zero, thresholdSeconds: 30, day: '2026-12-03' },
    ]);
    const all = await ask(admin, { tenantId: 't1', departmentIds: [] });
    expect(all.departments.map((d) => d.departmentId)).toEqual(['d1', 'd2']);
    await expect(
      ask({ subject: 'o', tenantId: ANY_TENANT, role: 'operator' }, { tenantId: '', departmentIds: [] }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'tenant_id is required' });
  });

  it('lets admins of the tenant, operators and supervisors for their own departments only', async () => {
    const lead: TokenClaims = { subject: 'l', tenantId: 't1', role: 'supervisor', departments: ['d1', 'd3'] };
    const denied = { code: grpc.status.PERMISSION_DENIED };
    await expect(ask(admin, { tenantId: 't2', departmentIds: [] })).rejects.toMatchObject(denied);
    await expect(
      ask({ subject: 'o', tenantId: ANY_TENANT, role: 'operator' }, { tenantId: 't2', departmentIds: [] }),
    ).resolves.toEqual({ departments: [] });
    await expect(ask(lead, { tenantId: 't1', departmentIds: ['d1', 'd3'] })).resolves.toMatchObject({
      departments: [
        { departmentId: 'd1', offered: 5 },
        { departmentId: 'd3', offered: 0 },
      ],
    });
    await expect(ask(lead, { tenantId: 't1', departmentIds: ['d1', 'd2'] })).rejects.toMatchObject(denied);
    await expect(ask(lead, { tenantId: 't1', departmentIds: [] })).rejects.toMatchObject(denied);
    for (const role of ['agent', 'finance'] as const) {
      await expect(
        ask({ subject: 'x', tenantId: 't1', role }, { tenantId: 't1', departmentIds: ['d1'] }),
      ).rejects.toMatchObject(denied);
    }
  });
});
