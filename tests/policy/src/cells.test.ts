import {
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECLARED } from '../../../scripts/policy-table.js';

// Every cell of every service's declared policy over gRPC: allowed cells reach the handler, denied
// ones never do. Policies with check functions (directory, presence, fax) need fixtures and test
// their cells beside the service.
type Definition = Parameters<typeof policyCells>[0];

const WITH_FIXTURES = new Set(['directory', 'presence', 'fax']);

describe.each(
  DECLARED.filter((entry) => !WITH_FIXTURES.has(entry.folder)).map((entry) => [entry.folder, entry] as const),
)('who may call what: %s', (_folder, { definition, policy }) => {
  const service = Object.values(definition)[0]!.path.split('/')[1]!;
  const cells = policyCells(definition as Definition, policy as never);
  let server: PolicyCellServer;
  beforeAll(async () => {
    server = await servePolicyCells(service, definition as Definition, policy as never);
  });
  afterAll(() => server?.close());

  it.each(cells.map((cell) => [cell.label, cell] as const))('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
