import { shortenNumber } from '@switchboard/numbering';
import { directoryServiceV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

const ADMINS = { admin: 'tenant', operator: 'any-tenant' } as const;
// Services read the directory: routing, presence, rating and fax over NATS (libs/rpc-clients),
// the ari-adapter over gRPC (tenants, numbers, staff and device credentials to provision Asterisk).
const ADMINS_AND_SERVICES = { ...ADMINS, service: 'any-tenant' } as const;

/** Who may call what on the directory API (the table in services/README.md is generated from this). */
export const directoryPolicy = definePolicy(directoryServiceV1.DirectoryServiceService, {
  createTenant: { description: 'Creates a tenant.', audit: true, allow: ADMINS },
  updateTenant: { description: "Changes a tenant's settings.", audit: true, allow: ADMINS },
  getTenant: { description: 'One tenant.', audit: false, allow: ADMINS_AND_SERVICES },
  deleteTenant: { description: 'Deletes a tenant and everything in it.', audit: true, allow: ADMINS },
  listTenants: {
    description: 'Tenants the caller may see (an admin only their own).',
    audit: false,
    allow: ADMINS_AND_SERVICES,
  },
  createSite: { description: 'Creates a site.', audit: true, allow: ADMINS },
  updateSite: { description: 'Changes a site.', audit: true, allow: ADMINS },
  getSite: { description: 'One site.', audit: false, allow: ADMINS },
  deleteSite: { description: 'Deletes a site.', audit: true, allow: ADMINS },
  listSites: { description: "The tenant's sites.", audit: false, allow: ADMINS_AND_SERVICES },
  createNumber: { description: 'Creates a number.', audit: true, allow: ADMINS },
  updateNumber: { description: 'Changes a number.', audit: true, allow: ADMINS },
  getNumber: { description: 'One number.', audit: false, allow: ADMINS },
  deleteNumber: { description: 'Deletes a number.', audit: true, allow: ADMINS },
  listNumbers: { description: "The tenant's numbers.", audit: false, allow: ADMINS_AND_SERVICES },
  assignNumberPool: {
    description: 'Assigns the tenant a pool of numbers (or replaces one).',
    audit: true,
    allow: { operator: 'any-tenant' },
  },
  listNumberPools: { description: "The tenant's number pools and their use.", audit: false, allow: ADMINS },
  deleteNumberPool: {
    description: 'Takes a number pool away (none of its numbers in use).',
    audit: true,
    allow: { operator: 'any-tenant' },
  },
  requestPoolNumbers: {
    description: "Takes free numbers from the tenant's pool as its own.",
    audit: true,
    allow: ADMINS,
  },
  releasePoolNumber: { description: 'Gives a number back to its pool.', audit: true, allow: ADMINS },
  createDepartment: { description: 'Creates a department.', audit: true, allow: ADMINS },
  updateDepartment: {
    description: 'Changes a department (members, hours, queue settings).',
    audit: true,
    allow: {
      ...ADMINS,
      supervisor: {
        scope: 'own department',
        check: (request, principal) => principal.departments?.includes(request.department?.departmentId ?? '') ?? false,
      },
    },
  },
  getDepartment: {
    description: 'One department.',
    audit: false,
    allow: { ...ADMINS, supervisor: { departments: 'departmentId' } },
  },
  deleteDepartment: { description: 'Deletes a department.', audit: true, allow: ADMINS },
  listDepartments: { description: "The tenant's departments.", audit: false, allow: ADMINS_AND_SERVICES },
  createStaff: { description: 'Creates a staff member.', audit: true, allow: ADMINS },
  updateStaff: { description: 'Changes a staff member.', audit: true, allow: ADMINS },
  getStaff: { description: 'One staff member.', audit: false, allow: ADMINS },
  deleteStaff: { description: 'Deletes a staff member.', audit: true, allow: ADMINS },
  listStaff: { description: "The tenant's staff.", audit: false, allow: ADMINS_AND_SERVICES },
  importTenant: { description: "Replaces the tenant's directory with a document.", audit: true, allow: ADMINS },
  exportTenant: {
    description: "The tenant's directory as a document; with include_audit its audit log too (admins, operators).",
    audit: false,
    allow: {
      ...ADMINS,
      // Services load the directory; who changed it is for the tenant's administrators.
      service: { scope: 'any tenant, without the audit log', check: (request) => !request.includeAudit },
    },
  },
  listAuditEntries: {
    description: "The tenant's audit log: every change made through an admin API, newest first.",
    audit: false,
    allow: ADMINS,
  },
  listDeviceCredentials: {
    description: "Devices' SIP credentials (HA1), for provisioning Asterisk.",
    audit: false,
    allow: { operator: 'any-tenant', service: 'any-tenant' },
  },
  rotateDevicePassword: {
    description: 'Sets a new random password for a device (a person hands it on).',
    audit: true,
    allow: ADMINS,
  },
  resolveNumber: { description: 'Who a dialled number reaches.', audit: false, allow: ADMINS_AND_SERVICES },
  isOpen: { description: 'Whether a department or site is open at a time.', audit: false, allow: ADMINS_AND_SERVICES },
  eraseNumber: {
    description: "Shortens a citizen's number everywhere it is stored for the tenant.",
    audit: true,
    // The log must not keep what the erase removed: it records the number shortened.
    auditedRequest: (request) => ({ ...request, number: shortenNumber(request.number) }),
    allow: ADMINS,
  },
});
