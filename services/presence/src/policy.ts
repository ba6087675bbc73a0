import { presenceV1 } from '@switchboard/proto';
import { definePolicy, type Principal } from '@switchboard/service-kit';

/** The departments an agent of a tenant is a member of; undefined for an agent presence does not know. */
export type AgentDepartments = (tenantId: string, agentId: string) => readonly string[] | undefined;

const ADMINS = { admin: 'tenant', operator: 'any-tenant' } as const;

/**
 * Who may call what on the presence gRPC API (the table in services/README.md is generated from
 * this). Routing's reservations (PresenceReservationService) are NATS request/reply only: who may
 * send them is the NATS permission on their subjects (libs/events), not a token.
 * A supervisor acts on an agent who is a member of one of their departments, looked up with
 * `agentDepartments` (presence's own copy of the agents).
 */
export function presencePolicy(agentDepartments: AgentDepartments) {
  const ofOwnDepartments = {
    scope: 'agent of own departments',
    check: (request: { tenantId: string; agentId: string }, principal: Principal) => {
      const own = new Set(principal.departments ?? []);
      return (agentDepartments(request.tenantId, request.agentId) ?? []).some((id) => own.has(id));
    },
  };
  return definePolicy(presenceV1.PresenceServiceService, {
    upsertAgent: {
      description: "Adds or changes an agent's profile (departments, skills, devices).",
      audit: true,
      allow: ADMINS,
    },
    setState: {
      description: "Sets an agent's state: available, away or offline.",
      audit: false,
      allow: { ...ADMINS, supervisor: ofOwnDepartments, agent: { self: 'agentId' } },
    },
    setHomeOffice: {
      description: 'Turns home office on or off.',
      audit: false,
      allow: { ...ADMINS, supervisor: ofOwnDepartments, agent: { self: 'agentId' } },
    },
    getAgent: {
      description: "An agent's profile and live state.",
      audit: false,
      allow: { ...ADMINS, supervisor: ofOwnDepartments, agent: { self: 'agentId' } },
    },
    listAgents: {
      description: 'Agents of a tenant, or of one department.',
      audit: false,
      allow: { ...ADMINS, supervisor: { departments: 'departmentId' } },
    },
    watchAgents: {
      description: "Every state change of the tenant's (or a department's) agents.",
      audit: false,
      allow: { ...ADMINS, supervisor: { departments: 'departmentId' } },
    },
  });
}
