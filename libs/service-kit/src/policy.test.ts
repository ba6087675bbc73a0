import * as grpc from '@grpc/grpc-js';
import { presenceV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, Principal } from './auth.js';
import { GrpcServer, GrpcStatusError, type AuditedChange } from './grpc-server.js';
import { createLogger } from './logger.js';
import { definePolicy, validatePolicy, type ServicePolicy } from './policy.js';
import { policyCells, servePolicyCells, type PolicyCellServer } from './testing.js';

const definition = presenceV1.PresenceServiceService;
type Definition = typeof definition;
const NAME = 'switchboard.presence.v1.PresenceService';

// Departments of the agents the supervisor check loads (as a real check would from its store).
const agentDepartments = new Map([
  ['agent-1', ['dept-a']],
  ['agent-2', ['dept-b']],
]);

const everyMethodForAdmin = Object.fromEntries(
  Object.keys(definition).map((key) => [key, { description: key, audit: false, allow: { admin: 'tenant' } }]),
) as unknown as ServicePolicy<Definition>;

const policy: ServicePolicy<Definition> = definePolicy(definition, {
  ...everyMethodForAdmin,
  upsertAgent: {
    description: 'Changes an agent profile.',
    audit: true,
    allow: { admin: 'tenant', operator: 'any-tenant' },
  },
  setState: {
    description: "Sets an agent's state.",
    audit: false,
    allow: {
      admin: 'tenant',
      agent: { self: 'agentId' },
      supervisor: {
        scope: 'agent of own departments',
        check: async (request, principal) =>
          (agentDepartments.get(request.agentId) ?? []).some((id) => principal.departments?.includes(id)),
      },
    },
  },
  listAgents: {
    description: 'Lists agents.',
    audit: false,
    allow: { admin: 'tenant', supervisor: { departments: 'departmentId' }, service: 'any-tenant' },
  },
  watchAgents: {
    description: 'Streams agent changes.',
    audit: false,
    allow: { admin: 'tenant', supervisor: { departments: 'departmentId' } },
  },
});

describe('validatePolicy', () => {
  it('refuses a policy that misses a method, names an unknown one or grants a scope a role cannot have', () => {
    const { setState: _, ...missing } = policy;
    expect(() => validatePolicy(NAME, definition, missing)).toThrow(/setState: no policy declared/);
    expect(() => validatePolicy(NAME, definition, { ...policy, dance: policy.setState })).toThrow(
      /dance: declared but not a method/,
    );
    const wrong = (allow: object) => ({ ...policy, getAgent: { description: 'x', audit: false, allow } });
    expect(() => validatePolicy(NAME, definition, wrong({ admin: 'any-tenant' }))).toThrow(
      /getAgent: admin cannot have scope any-tenant/,
    );
    expect(() => validatePolicy(NAME, definition, wrong({ operator: 'tenant' }))).toThrow(/operator cannot/);
    expect(() => validatePolicy(NAME, definition, wrong({ admin: { self: 'agentId' } }))).toThrow(/admin cannot/);
    expect(() => validatePolicy(NAME, definition, wrong({ agent: { departments: 'x' } }))).toThrow(/agent cannot/);
    expect(() => validatePolicy(NAME, definition, wrong({ root: 'tenant' }))).toThrow(/unknown role root/);
    expect(() =>
      validatePolicy(NAME, definition, { ...policy, watchAgents: { ...policy.watchAgents, audit: true } }),
    ).toThrow(/watchAgents: a streaming method cannot be audited/);
    expect(() => validatePolicy(NAME, definition, undefined)).toThrow(/has no access policy/);
    expect(() => validatePolicy(NAME, definition, policy)).not.toThrow();
  });

  it('makes GrpcServer.addService throw at start-up, so a service with a gap never serves', () => {
    const server = new GrpcServer({
      authenticator: {} as Authenticator,
      logger: createLogger({ service: 'policy-test', level: 'silent' }),
    });
    const { getAgent: _, ...missing } = policy;
    expect(() => server.addService(NAME, definition, {}, missing as unknown as ServicePolicy<Definition>)).toThrow(
      /getAgent: no policy declared/,
    );
  });
});

describe('enforcement in GrpcServer', () => {
  let cells: PolicyCellServer;
  beforeAll(async () => {
    cells = await servePolicyCells(NAME, definition, policy);
  });
  afterAll(() => cells?.close());

  const cellsOf = policyCells(definition, policy, {
    setState: { supervisor: { allowed: { agentId: 'agent-1' }, denied: { agentId: 'agent-2' } } },
  });

  it.each(cellsOf.map((cell) => [cell.label, cell] as const))('%s', async (_label, cell) => {
    expect(await cells.call(cell)).toEqual(
      cell.allowed ? { code: grpc.status.OK, reached: true } : { code: grpc.status.PERMISSION_DENIED, reached: false },
    );
  });

  it('derives the scoped cells from the declaration', () => {
    const labels = cellsOf.map((cell) => cell.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'PresenceService/SetState agent (self): allowed',
        'PresenceService/SetState agent (another agent): denied',
        'PresenceService/SetState agent (another tenant): denied',
        'PresenceService/SetState supervisor (agent of own departments): allowed',
        'PresenceService/SetState supervisor (not agent of own departments): denied',
        'PresenceService/ListAgents supervisor (another department): denied',
        'PresenceService/ListAgents supervisor (no department): denied',
        'PresenceService/ListAgents service (any tenant): allowed',
        'PresenceService/WatchAgents supervisor (own department): allowed',
        'PresenceService/UpsertAgent finance (own tenant): denied',
        'PresenceService/UpsertAgent admin (another tenant): denied',
      ]),
    );
  });

  it('refuses a check grant without a fixture instead of skipping it', () => {
    expect(() => policyCells(definition, policy)).toThrow(/SetState: supervisor's check .* needs a fixture/);
  });
});

describe('denials and audited changes', () => {
  const audited: AuditedChange[] = [];
  const tokens = new Map<string, Principal>();
  const authenticator: Authenticator = { verify: async (token) => tokens.get(token)! };
  const issue = (principal: Principal) => {
    tokens.set(principal.subject, principal);
    return principal.subject;
  };
  let server: GrpcServer;
  let client: presenceV1.PresenceServiceClient;
  let failNext = false;

  beforeAll(async () => {
    server = new GrpcServer({
      authenticator,
      logger: createLogger({ service: 'policy-test', level: 'silent' }),
      onAudited: (change) => audited.push(change),
    });
    const ok: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) =>
      failNext ? callback(new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'bad')) : callback(null, {});
    server.addService(NAME, definition, Object.fromEntries(Object.keys(definition).map((key) => [key, ok])), policy);
    const port = await server.listen('127.0.0.1', 0);
    server.setServing(true);
    client = new presenceV1.PresenceServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await server?.shutdown(1_000);
  });

  const upsert = async (principal: Principal, tenantId: string) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${issue(principal)}`);
    return new Promise<void>((resolve, reject) =>
      client.upsertAgent(
        presenceV1.UpsertAgentRequest.fromPartial({ tenantId, agentId: 'agent-1' }),
        metadata,
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  };

  it('answers a denial with PERMISSION_DENIED naming the role, the method and what was allowed', async () => {
    await expect(upsert({ subject: 'agent-1', tenantId: 't-a', role: 'agent' }, 't-a')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'agent may not call PresenceService/UpsertAgent (allowed: admin, operator)',
    });
    await expect(upsert({ subject: 'anna', tenantId: 't-a', role: 'admin' }, 't-b')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'admin of tenant t-a may not call PresenceService/UpsertAgent for tenant t-b',
    });
  });

  it("refuses bytes that are not the method's message as INVALID_ARGUMENT, after authentication", async () => {
    const send = (token: string | undefined) => {
      const metadata = new grpc.Metadata();
      if (token) metadata.set('authorization', `Bearer ${token}`);
      return new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(
          '/switchboard.presence.v1.PresenceService/UpsertAgent',
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          // Field 1 (tenant_id) says "string of 100 bytes" but the message ends after 2.
          Buffer.from([0x0a, 0x64, 0x74, 0x2d]),
          metadata,
          (error) => resolve(error!),
        ),
      );
    };
    expect(await send(issue({ subject: 'anna', tenantId: 't-a', role: 'admin' }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^malformed PresenceService\/UpsertAgent request: /),
    });
    expect(await send(undefined)).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it('refuses a tenant id no tenant can have as INVALID_ARGUMENT before the handler', async () => {
    for (const tenantId of [' ', 'T-A', 'a.b', 'a*', '_unknown', 'x'.repeat(64)]) {
      await expect(upsert({ subject: 'ops', tenantId: 'provider', role: 'operator' }, tenantId)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringMatching(/^tenant_id must be 1–63 lowercase letters/),
      });
    }
  });

  it('reports a successful audited change to onAudited, and neither a denied nor a failed one', async () => {
    audited.length = 0;
    await upsert({ subject: 'anna', tenantId: 't-a', role: 'admin' }, 't-a');
    await upsert({ subject: 'ops', tenantId: 'provider', role: 'operator' }, 't-c');
    failNext = true;
    await expect(upsert({ subject: 'anna', tenantId: 't-a', role: 'admin' }, 't-a')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    failNext = false;
    expect(
      audited.map(({ service, method, principal, tenantId }) => [service, method, principal.subject, tenantId]),
    ).toEqual([
      [NAME, 'UpsertAgent', 'anna', 't-a'],
      [NAME, 'UpsertAgent', 'ops', 't-c'],
    ]);
    expect(audited[0]!.request).toMatchObject({ tenantId: 't-a', agentId: 'agent-1' });
  });
});
