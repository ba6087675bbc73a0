import { faxServiceV1 } from '@switchboard/proto';
import { definePolicy, type Principal } from '@switchboard/service-kit';

/**
 * The department a fax or voicemail of a tenant was routed to: empty when it has none, undefined
 * when the tenant has no such record.
 */
export type RecordDepartment = (kind: 'fax' | 'voicemail', tenantId: string, id: string) => Promise<string | undefined>;

// Retries, routes, settings and the retention log concern the whole tenant: its administrators'.
const ADMINS = { admin: 'tenant', operator: 'any-tenant' } as const;

/** The departments a supervisor may read; undefined for the roles not held to departments. */
export function supervisedDepartments(principal: Principal): readonly string[] | undefined {
  return principal.role === 'supervisor' ? (principal.departments ?? []) : undefined;
}

const own = (principal: Principal, departmentId: string | undefined) =>
  departmentId !== undefined && departmentId !== '' && (principal.departments ?? []).includes(departmentId);

/**
 * Who may call what on the fax and voicemail API (the table in services/README.md is generated
 * from this). A supervisor reads and marks their own departments' faxes and voicemails: a list
 * may name one of them or none (the server then lists all of theirs); a fax or voicemail id does
 * not say whose it is, so `recordDepartment` reads it. Another department's record, one of no
 * department and an id the tenant does not have are all PERMISSION_DENIED for a supervisor (as
 * the directory refuses a supervisor another department), so an id tells them nothing.
 */
export function faxPolicy(recordDepartment: RecordDepartment) {
  const listed = {
    ...ADMINS,
    supervisor: {
      scope: 'own departments (department_id, or none: all of them)',
      check: (request: { departmentId: string }, principal: Principal) =>
        request.departmentId === '' || own(principal, request.departmentId),
    },
  };
  const fax = {
    ...ADMINS,
    supervisor: {
      scope: 'fax of own departments',
      check: async (request: { tenantId: string; faxId: string }, principal: Principal) =>
        own(principal, await recordDepartment('fax', request.tenantId, request.faxId)),
    },
  };
  const voicemail = {
    ...ADMINS,
    supervisor: {
      scope: 'voicemail of own departments',
      check: async (request: { tenantId: string; voicemailId: string }, principal: Principal) =>
        own(principal, await recordDepartment('voicemail', request.tenantId, request.voicemailId)),
    },
  };
  return definePolicy(faxServiceV1.FaxServiceService, {
    listFaxes: { description: 'The fax inbox.', audit: false, allow: listed },
    getFax: { description: 'One fax.', audit: false, allow: fax },
    downloadFax: { description: "A fax's PDF or TIFF.", audit: false, allow: fax },
    markFaxHandled: { description: 'Marks a fax handled.', audit: true, allow: fax },
    retryFaxDelivery: { description: 'Delivers a fax again.', audit: true, allow: ADMINS },
    listFaxRoutes: { description: 'Fax number → department → mailbox.', audit: false, allow: ADMINS },
    getFaxSettings: { description: 'Fallback mailbox and retention.', audit: false, allow: ADMINS },
    updateFaxSettings: { description: 'Changes the fallback mailbox and retention.', audit: true, allow: ADMINS },
    listRetentionLog: { description: 'What retention deleted.', audit: false, allow: ADMINS },
    listVoicemails: { description: 'The voicemail inbox.', audit: false, allow: listed },
    getVoicemail: { description: 'One voicemail.', audit: false, allow: voicemail },
    downloadVoicemail: { description: "A voicemail's audio.", audit: false, allow: voicemail },
    markVoicemailHandled: { description: 'Marks a voicemail handled.', audit: true, allow: voicemail },
    retryVoicemailDelivery: { description: 'Delivers a voicemail again.', audit: true, allow: ADMINS },
  });
}
