import { presenceV1 } from '@switchboard/proto';
import {
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presencePolicy } from './policy.js';

// Every cell of the declared policy over gRPC: allowed cells reach the handler, denied ones never do.
const definition = presenceV1.PresenceServiceService;
// The supervisor tokens' department is dept-a: agent-1 is a member of it, agent-2 only of dept-b.
const MEMBERSHIPS = new Map([
  ['agent-1', ['dept-b', 'dept-a']],
  ['agent-2', ['dept-b']],
]);
const SUPERVISED = { supervisor: { allowed: { agentId: 'agent-1' }, denied: { agentId: 'agent-2' } } };
const policy = presencePolicy((_tenantId, agentId) => MEMBERSHIPS.get(agentId));
let server: PolicyCellServer;

beforeAll(async () => {
  server = await servePolicyCells('switchboard.presence.v1.PresenceService', definition, policy);
});
afterAll(() => server?.close());

describe('who may call what: switchboard.presence.v1.PresenceService', () => {
  it.each(
    policyCells(definition, policy, {
      setState: SUPERVISED,
      setHomeOffice: SUPERVISED,
      getAgent: SUPERVISED,
    }).map((cell) => [cell.label, cell] as const),
  )('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
