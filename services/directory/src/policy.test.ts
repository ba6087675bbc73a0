import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import {
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryPolicy } from './policy.js';

// Every cell of the declared policy over gRPC: allowed cells reach the handler, denied ones never do.
const definition = directoryServiceV1.DirectoryServiceService;
const policy = directoryPolicy;
const department = (departmentId: string) => directoryV1.Department.fromPartial({ departmentId });
let server: PolicyCellServer;

beforeAll(async () => {
  server = await servePolicyCells('switchboard.directory.v1.DirectoryService', definition, policy);
});
afterAll(() => server?.close());

describe('who may call what: switchboard.directory.v1.DirectoryService', () => {
  it.each(
    policyCells(definition, policy, {
      updateDepartment: {
        supervisor: { allowed: { department: department('dept-a') }, denied: { department: department('dept-b') } },
      },
      exportTenant: { service: { allowed: { includeAudit: false }, denied: { includeAudit: true } } },
    }).map((cell) => [cell.label, cell] as const),
  )('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
