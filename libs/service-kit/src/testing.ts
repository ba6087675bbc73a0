import * as grpc from '@grpc/grpc-js';
import { ROLES, crossTenant, type Authenticator, type Principal, type Role } from './auth.js';
import { GrpcServer } from './grpc-server.js';
import { createLogger } from './logger.js';
import type { AnyMethodPolicy, RequestOf, ServicePolicy } from './policy.js';

// Test support (import from `@switchboard/service-kit/testing`): every cell of a service's
// "who may call what" table derived from its declared policy, and a GrpcServer with the real
// definition and policy whose handlers only record that they were reached. A service's cell test
// cannot drift from its declaration: the cells are computed from it.

export const CELL_TENANT = 'tenant-a';
export const OTHER_TENANT = 'tenant-b';
/** The agent the agent tokens are for; `OTHER_AGENT` is a colleague. */
export const CELL_AGENT = 'agent-1';
export const OTHER_AGENT = 'agent-2';
/** The supervisor tokens' department; `OTHER_DEPARTMENT` is not theirs. */
export const CELL_DEPARTMENT = 'dept-a';
export const OTHER_DEPARTMENT = 'dept-b';

export interface PolicyCell {
  /** e.g. `RatingService/RerateMonth agent (own tenant): denied` */
  readonly label: string;
  /** The definition's key, e.g. `rerateMonth`. */
  readonly method: string;
  readonly principal: Principal;
  /** Fields set on the method's empty request. */
  readonly fields: Record<string, unknown>;
  readonly allowed: boolean;
}

/** Requests a check grant is tested with: one it allows, one it denies (for the cell test's data). */
export interface CheckFixture<Req> {
  readonly allowed: Partial<Req>;
  readonly denied: Partial<Req>;
}

/** Per method and role, the requests for each grant given as a check function. */
export type CheckFixtures<D> = {
  readonly [K in keyof D]?: { readonly [R in Role]?: CheckFixture<RequestOf<D[K]>> };
};

function principalOf(role: Role): Principal {
  if (role === 'agent') return { subject: CELL_AGENT, tenantId: CELL_TENANT, role };
  if (role === 'supervisor')
    return { subject: 'supervisor-1', tenantId: CELL_TENANT, role, departments: [CELL_DEPARTMENT] };
  if (role === 'operator' || role === 'service') return { subject: `${role}-1`, tenantId: 'provider', role };
  return { subject: `${role}-1`, tenantId: CELL_TENANT, role };
}

interface Method {
  path: string;
  requestDeserialize(value: Buffer): unknown;
}

/**
 * Every cell of the policy: each method × each role, allowed and denied, including the scoped
 * cases (agent for themself vs a colleague, supervisor for their department vs another, another
 * tenant's id for the tenant-bound roles). Throws when a check grant has no fixture.
 */
export function policyCells<D extends grpc.ServiceDefinition>(
  definition: D,
  policy: ServicePolicy<D>,
  fixtures: CheckFixtures<D> = {},
): PolicyCell[] {
  const cells: PolicyCell[] = [];
  for (const [key, attributes] of Object.entries(definition)) {
    const method = attributes as unknown as Method;
    const name = method.path.replace(/^\/(?:\w+\.)*/, '');
    const entry = (policy as unknown as Record<string, AnyMethodPolicy>)[key]!;
    const empty = method.requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>;
    const hasTenant = 'tenantId' in empty;
    const tenant = (tenantId: string) => (hasTenant ? { tenantId } : {});
    for (const role of ROLES) {
      const principal = principalOf(role);
      const grant = entry.allow[role];
      const add = (scope: string, fields: Record<string, unknown>, allowed: boolean) =>
        cells.push({
          label: `${name} ${role} (${scope}): ${allowed ? 'allowed' : 'denied'}`,
          method: key,
          principal,
          fields,
          allowed,
        });
      if (!grant) {
        add('own tenant', tenant(CELL_TENANT), false);
        continue;
      }
      const ownTenant = tenant(role === 'operator' || role === 'service' ? OTHER_TENANT : CELL_TENANT);
      // Operators and services address every tenant, whatever else their grant checks.
      const otherTenant = (fields: Record<string, unknown>) => {
        if (hasTenant && !crossTenant(role)) add('another tenant', { ...fields, ...tenant(OTHER_TENANT) }, false);
      };
      if (grant === 'tenant') {
        add('own tenant', ownTenant, true);
        otherTenant({});
      } else if (grant === 'any-tenant') {
        add('any tenant', ownTenant, true);
      } else if ('self' in grant) {
        add('self', { ...ownTenant, [grant.self]: CELL_AGENT }, true);
        add('another agent', { ...ownTenant, [grant.self]: OTHER_AGENT }, false);
        otherTenant({ [grant.self]: CELL_AGENT });
      } else if ('departments' in grant) {
        const value = (id: string) => (Array.isArray(empty[grant.departments]) ? [id] : id);
        add('own department', { ...ownTenant, [grant.departments]: value(CELL_DEPARTMENT) }, true);
        add('another department', { ...ownTenant, [grant.departments]: value(OTHER_DEPARTMENT) }, false);
        add('no department', { ...ownTenant }, false);
        otherTenant({ [grant.departments]: value(CELL_DEPARTMENT) });
      } else {
        const fixture = (fixtures as Record<string, Partial<Record<Role, CheckFixture<unknown>>> | undefined>)[key]?.[
          role
        ];
        if (!fixture) throw new Error(`${name}: ${role}'s check "${grant.scope}" needs a fixture (allowed and denied)`);
        add(`${grant.scope}`, { ...ownTenant, ...fixture.allowed }, true);
        add(`not ${grant.scope}`, { ...ownTenant, ...fixture.denied }, false);
        otherTenant(fixture.allowed);
      }
    }
  }
  return cells;
}

/**
 * Every role may call every method in its widest scope (the tenant-bound roles still only their
 * tenant): for tests of clients such as the CLI against a GrpcServer, where who may call is not
 * the subject. Never for a service (a service's policy is its own policy.ts).
 */
export function permitAll<D extends grpc.ServiceDefinition>(definition: D): ServicePolicy<D> {
  const allow = Object.fromEntries(
    ROLES.map((role) => [role, role === 'operator' || role === 'service' ? 'any-tenant' : 'tenant']),
  );
  return Object.fromEntries(
    Object.keys(definition).map((key) => [key, { description: key, audit: false, allow }]),
  ) as unknown as ServicePolicy<D>;
}

/**
 * A handler for every method of a service that answers UNIMPLEMENTED: the base a client test
 * spreads its few fakes over, so a method added to the proto later does not break the server's
 * start (the kit refuses a service with a method left out).
 */
export function unimplementedHandlers<D extends grpc.ServiceDefinition>(
  definition: D,
): grpc.UntypedServiceImplementation {
  const unimplemented: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) =>
    callback({ code: grpc.status.UNIMPLEMENTED });
  return Object.fromEntries(Object.keys(definition).map((name) => [name, unimplemented]));
}

/** What a cell's call came to: the status, and whether the handler ran. */
export interface CellOutcome {
  readonly code: grpc.status;
  readonly reached: boolean;
}

/** What the declaration says a cell comes to: allowed reaches the handler, denied never does. */
export function expectedOutcome(cell: PolicyCell): CellOutcome {
  return cell.allowed
    ? { code: grpc.status.OK, reached: true }
    : { code: grpc.status.PERMISSION_DENIED, reached: false };
}

export interface PolicyCellServer {
  call(cell: PolicyCell): Promise<CellOutcome>;
  close(): Promise<void>;
}

// Tokens here are the principal itself, base64url JSON: the cells test the policy, not signing.
const cellToken = (principal: Principal) => Buffer.from(JSON.stringify(principal)).toString('base64url');
const cellAuthenticator: Authenticator = {
  verify: async (token) => JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Principal,
};

/**
 * Serves `definition` with its real `policy` on 127.0.0.1 (a free port); every handler records
 * that it was reached and answers the empty response.
 */
export async function servePolicyCells<D extends grpc.ServiceDefinition>(
  name: string,
  definition: D,
  policy: ServicePolicy<D>,
): Promise<PolicyCellServer> {
  const reached = new Set<string>();
  const server = new GrpcServer({
    authenticator: cellAuthenticator,
    logger: createLogger({ service: name, level: 'silent' }),
  });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, attributes] of Object.entries(definition)) {
    const id = (call: grpc.ServerUnaryCall<unknown, unknown>) => call.metadata.get('x-cell')[0] as string;
    implementation[key] = (
      attributes.responseStream
        ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
            reached.add(id(call));
            call.end();
          }
        : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            reached.add(id(call));
            callback(null, attributes.responseDeserialize(Buffer.alloc(0)));
          }
    ) as grpc.UntypedHandleCall;
  }
  server.addService(name, definition, implementation, policy);
  const port = await server.listen('127.0.0.1', 0);
  server.setServing(true);
  const Client = grpc.makeGenericClientConstructor(definition, name);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  let next = 0;
  return {
    async call(cell) {
      const id = String(next++);
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${cellToken(cell.principal)}`);
      metadata.set('x-cell', id);
      const attributes = definition[cell.method]!;
      const request = { ...(attributes.requestDeserialize(Buffer.alloc(0)) as object), ...cell.fields };
      const method = client[cell.method]!.bind(client);
      const code = await new Promise<grpc.status>((resolve) => {
        if (attributes.responseStream) {
          const stream = method(request, metadata) as grpc.ClientReadableStream<unknown>;
          stream.on('data', () => undefined);
          stream.on('error', (error: grpc.ServiceError) => resolve(error.code));
          stream.on('end', () => resolve(grpc.status.OK));
        } else {
          method(request, metadata, (error: grpc.ServiceError | null) => resolve(error ? error.code : grpc.status.OK));
        }
      });
      return { code, reached: reached.has(id) };
    },
    async close() {
      (client as unknown as grpc.Client).close();
      await server.shutdown(1_000);
    },
  };
}
