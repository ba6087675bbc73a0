import { routingV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

/** Who may call what on the routing API (the table in services/README.md is generated from this). */
export const routingPolicy = definePolicy(routingV1.RoutingServiceService, {
  listCalls: {
    description: 'Live calls of a tenant, or of one department.',
    audit: false,
    allow: { admin: 'tenant', supervisor: { departments: 'departmentId' }, operator: 'any-tenant' },
  },
  getQueue: {
    description: "Callers waiting in a department's queue.",
    audit: false,
    allow: { admin: 'tenant', supervisor: { departments: 'departmentId' }, operator: 'any-tenant' },
  },
  getServiceLevel: {
    description: "Today's service level (answered within 30 s) per department.",
    audit: false,
    allow: { admin: 'tenant', supervisor: { departments: 'departmentIds' }, operator: 'any-tenant' },
  },
});
