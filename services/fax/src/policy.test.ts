import { faxServiceV1 } from '@switchboard/proto';
import {
  CELL_DEPARTMENT,
  CELL_TENANT,
  OTHER_DEPARTMENT,
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faxPolicy } from './policy.js';

// Every cell of the declared policy over gRPC: allowed cells reach the handler, denied ones never do.
const definition = faxServiceV1.FaxServiceService;
// The supervisor tokens' department is dept-a; the records of the cell tenant by id.
const RECORDS = new Map([
  ['fax:fax-a', CELL_DEPARTMENT],
  ['fax:fax-b', OTHER_DEPARTMENT],
  ['fax:fax-none', ''],
  ['voicemail:vm-a', CELL_DEPARTMENT],
  ['voicemail:vm-b', OTHER_DEPARTMENT],
]);
const policy = faxPolicy(async (kind, tenantId, id) =>
  tenantId === CELL_TENANT ? RECORDS.get(`${kind}:${id}`) : undefined,
);
const LISTED = {
  supervisor: { allowed: { departmentId: CELL_DEPARTMENT }, denied: { departmentId: OTHER_DEPARTMENT } },
};
const FAX = { supervisor: { allowed: { faxId: 'fax-a' }, denied: { faxId: 'fax-b' } } };
const VOICEMAIL = { supervisor: { allowed: { voicemailId: 'vm-a' }, denied: { voicemailId: 'vm-b' } } };
let server: PolicyCellServer;

beforeAll(async () => {
  server = await servePolicyCells('switchboard.fax.v1.FaxService', definition, policy);
});
afterAll(() => server?.close());

const supervisor = {
  subject: 'lead',
  tenantId: CELL_TENANT,
  role: 'supervisor',
  departments: [CELL_DEPARTMENT],
} as const;
const supervisorCell = (method: string, fields: Record<string, unknown>, allowed: boolean) => ({
  label: `${method} ${JSON.stringify(fields)}`,
  method,
  principal: supervisor,
  fields: { tenantId: CELL_TENANT, ...fields },
  allowed,
});

describe('who may call what: switchboard.fax.v1.FaxService', () => {
  it.each(
    policyCells(definition, policy, {
      listFaxes: LISTED,
      listVoicemails: LISTED,
      getFax: FAX,
      downloadFax: FAX,
      markFaxHandled: FAX,
      getVoicemail: VOICEMAIL,
      downloadVoicemail: VOICEMAIL,
      markVoicemailHandled: VOICEMAIL,
    }).map((cell) => [cell.label, cell] as const),
  )('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });

  it.each([
    // No filter: the server lists all of the supervisor's departments.
    supervisorCell('listFaxes', { departmentId: '' }, true),
    supervisorCell('listVoicemails', { departmentId: '' }, true),
    // A record of no department (unrouted) is the administrators' only; an unknown id tells nothing.
    supervisorCell('getFax', { faxId: 'fax-none' }, false),
    supervisorCell('getFax', { faxId: 'fax-unknown' }, false),
    supervisorCell('markVoicemailHandled', { voicemailId: 'vm-unknown' }, false),
  ])('supervisor $label: allowed $allowed', async (cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
