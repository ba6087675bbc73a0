import { faxServiceV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

// The inboxes hold citizens' faxes and voicemails of every department and name no department a
// supervisor's scope could be checked against: the tenant's administrator reads and handles them.
const ADMINS = { admin: 'tenant', operator: 'any-tenant' } as const;

/** Who may call what on the fax and voicemail API (the table in services/README.md is generated from this). */
export const faxPolicy = definePolicy(faxServiceV1.FaxServiceService, {
  listFaxes: { description: 'The fax inbox.', audit: false, allow: ADMINS },
  getFax: { description: 'One fax.', audit: false, allow: ADMINS },
  downloadFax: { description: "A fax's PDF or TIFF.", audit: false, allow: ADMINS },
  markFaxHandled: { description: 'Marks a fax handled.', audit: true, allow: ADMINS },
  retryFaxDelivery: { description: 'Delivers a fax again.', audit: true, allow: ADMINS },
  listFaxRoutes: { description: 'Fax number → department → mailbox.', audit: false, allow: ADMINS },
  getFaxSettings: { description: 'Fallback mailbox and retention.', audit: false, allow: ADMINS },
  updateFaxSettings: { description: 'Changes the fallback mailbox and retention.', audit: true, allow: ADMINS },
  listRetentionLog: { description: 'What retention deleted.', audit: false, allow: ADMINS },
  listVoicemails: { description: 'The voicemail inbox.', audit: false, allow: ADMINS },
  getVoicemail: { description: 'One voicemail.', audit: false, allow: ADMINS },
  downloadVoicemail: { description: "A voicemail's audio.", audit: false, allow: ADMINS },
  markVoicemailHandled: { description: 'Marks a voicemail handled.', audit: true, allow: ADMINS },
  retryVoicemailDelivery: { description: 'Delivers a voicemail again.', audit: true, allow: ADMINS },
});
