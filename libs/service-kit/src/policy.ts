import type * as grpc from '@grpc/grpc-js';
import { ROLES, crossTenant, type Principal, type Role } from './auth.js';

// Who may call what, declared once per method next to each service and enforced by GrpcServer
// before the handler runs. A service definition's every method needs an entry (a missing one is
// a type error in the declaration and an error at `addService`): nothing is open by default.

/** The request type of one method of a ts-proto grpc-js service definition. */
export type RequestOf<M> = M extends { requestDeserialize(value: Buffer): infer R } ? R : never;

type KeysWith<T, V> = { [K in keyof T]-?: T[K] extends V ? K : never }[keyof T] & string;

/**
 * In what scope a role may call a method. A role that acts for one tenant (admin, supervisor,
 * finance, agent) is always held to the request's `tenant_id` first; the scope narrows further.
 * - `'tenant'`: anything of the caller's tenant.
 * - `'any-tenant'`: every tenant; only for the cross-tenant roles (operator, service).
 * - `{ self: field }`: an agent for themself only: the request's field equals the token's subject.
 * - `{ departments: field }`: a supervisor for their departments only: the department id(s) in the
 *   field are all among the token's departments (an empty field, meaning "all", is denied).
 * - `{ check, scope }`: decided by a function (which may load data, e.g. the departments of the
 *   agent a request names); `scope` says in words what it checks, for the table and denials.
 */
export type Grant<Req> =
  | 'tenant'
  | 'any-tenant'
  | { readonly self: KeysWith<Req, string> }
  | { readonly departments: KeysWith<Req, string | readonly string[]> }
  | {
      readonly scope: string;
      readonly check: (request: Req, principal: Principal) => boolean | Promise<boolean>;
    };

export interface MethodPolicy<Req> {
  /** One line: what the method does, for the "who may call what" table. */
  readonly description: string;
  /** Roles that may call the method; a role not listed is denied. */
  readonly allow: { readonly [R in Role]?: Grant<Req> };
  /** True for every change through an admin API: GrpcServer reports it to `onAudited` on success. */
  readonly audit: boolean;
  /** What of the request the audit entry keeps, when not all of it may be kept (an erased number). */
  readonly auditedRequest?: (request: Req) => unknown;
}

/** Any grant, whatever its request type (what the kit handles at run time). */
export type AnyGrant =
  | 'tenant'
  | 'any-tenant'
  | { readonly self: string }
  | { readonly departments: string }
  | { readonly scope: string; readonly check: (request: never, principal: Principal) => boolean | Promise<boolean> };

export interface AnyMethodPolicy {
  readonly description: string;
  readonly allow: { readonly [R in Role]?: AnyGrant };
  readonly audit: boolean;
  readonly auditedRequest?: (request: never) => unknown;
}

/** A policy for every method of a ts-proto service definition, keyed like the definition. */
export type ServicePolicy<D> = { readonly [K in keyof D]: MethodPolicy<RequestOf<D[K]>> };

/** Declares a service's policy, typed by its definition (a missing or unknown method is a type error). */
export function definePolicy<D extends grpc.ServiceDefinition>(
  _definition: D,
  policy: ServicePolicy<D>,
): ServicePolicy<D> {
  return policy;
}

/** How a grant reads in the table and in denials. */
export function describeGrant(grant: AnyGrant): string {
  if (grant === 'tenant') return 'own tenant';
  if (grant === 'any-tenant') return 'any tenant';
  if ('self' in grant) return `self (${grant.self})`;
  if ('departments' in grant) return `own departments (${grant.departments})`;
  return grant.scope;
}

/** `/switchboard.rating.v1.RatingService/RerateMonth` → `RatingService/RerateMonth`. */
export function shortMethodName(path: string): string {
  return path.replace(/^\/(?:[\w]+\.)*/, '');
}

/**
 * Throws unless the policy covers exactly the definition's methods with grants that fit the
 * roles (run by `GrpcServer.addService`, so a service with a gap does not start).
 */
export function validatePolicy(name: string, definition: grpc.ServiceDefinition, policy: unknown): void {
  if (!policy || typeof policy !== 'object') throw new Error(`${name} has no access policy`);
  const declared = policy as Record<string, AnyMethodPolicy | undefined>;
  const problems: string[] = [];
  for (const [method, attributes] of Object.entries(definition)) {
    const entry = declared[method];
    if (!entry) {
      problems.push(`${method}: no policy declared`);
      continue;
    }
    if (typeof entry.description !== 'string' || entry.description === '') problems.push(`${method}: no description`);
    if (typeof entry.audit !== 'boolean') problems.push(`${method}: audit must be true or false`);
    if (entry.audit && (attributes.requestStream || attributes.responseStream))
      problems.push(`${method}: a streaming method cannot be audited`);
    for (const [role, grant] of Object.entries(entry.allow ?? {})) {
      if (!(ROLES as readonly string[]).includes(role)) problems.push(`${method}: unknown role ${role}`);
      else if (!validGrant(role as Role, grant))
        problems.push(`${method}: ${role} cannot have scope ${describe(grant)}`);
    }
  }
  for (const method of Object.keys(declared)) {
    if (!(method in definition)) problems.push(`${method}: declared but not a method of the service`);
  }
  if (problems.length) throw new Error(`access policy of ${name} is invalid:\n  ${problems.join('\n  ')}`);
}

function describe(grant: unknown): string {
  return typeof grant === 'string' ? grant : JSON.stringify(grant);
}

function validGrant(role: Role, grant: unknown): boolean {
  if (grant === 'any-tenant') return crossTenant(role);
  if (grant === 'tenant') return !crossTenant(role);
  if (!grant || typeof grant !== 'object') return false;
  if ('self' in grant) return role === 'agent' && typeof grant.self === 'string';
  if ('departments' in grant) return role === 'supervisor' && typeof grant.departments === 'string';
  return 'check' in grant && typeof grant.check === 'function' && 'scope' in grant && typeof grant.scope === 'string';
}

/** Why a call was refused; GrpcServer answers PERMISSION_DENIED with `message`. */
export class PolicyDenial extends Error {
  override readonly name = 'PolicyDenial';
}

function fieldValues(request: unknown, field: string): string[] {
  const value = (request as Record<string, unknown> | undefined)?.[field];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item !== '');
  return [];
}

/** The request's `tenant_id`, when it names one. */
export function requestTenant(request: unknown): string | undefined {
  const tenantId = (request as { tenantId?: unknown } | undefined)?.tenantId;
  return typeof tenantId === 'string' && tenantId !== '' ? tenantId : undefined;
}

/**
 * Decides one call; resolves when allowed, rejects with a PolicyDenial naming the role, the
 * method and the scope that failed. An empty `tenant_id` is left to the handler (which answers
 * INVALID_ARGUMENT where it is required; ListTenants reads it as "all the caller may see").
 */
export async function authorizeCall(
  method: string,
  policy: AnyMethodPolicy,
  principal: Principal,
  request: unknown,
): Promise<void> {
  const { role } = principal;
  const grant = policy.allow[role];
  if (!grant) {
    const allowed = ROLES.filter((r) => policy.allow[r]);
    throw new PolicyDenial(
      `${role} may not call ${method} (allowed: ${allowed.length ? allowed.join(', ') : 'nobody'})`,
    );
  }
  const tenantId = requestTenant(request);
  if (!crossTenant(role) && tenantId !== undefined && tenantId !== principal.tenantId) {
    throw new PolicyDenial(`${role} of tenant ${principal.tenantId} may not call ${method} for tenant ${tenantId}`);
  }
  if (grant === 'tenant' || grant === 'any-tenant') return;
  const deny = (): never => {
    throw new PolicyDenial(`${role} may call ${method} only in scope ${describeGrant(grant)}`);
  };
  if ('self' in grant) {
    const [agentId, ...more] = fieldValues(request, grant.self);
    if (agentId !== principal.subject || more.length) deny();
    return;
  }
  if ('departments' in grant) {
    const named = fieldValues(request, grant.departments);
    const own = new Set(principal.departments ?? []);
    if (named.length === 0 || !named.every((id) => own.has(id))) deny();
    return;
  }
  if (!(await grant.check(request as never, principal))) deny();
}
