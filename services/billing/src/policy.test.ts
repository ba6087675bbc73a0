import { billingV1 } from '@switchboard/proto';
import {
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingPolicy } from './policy.js';

// Every cell of the declared policy over gRPC: allowed cells reach the handler, denied ones never do.
const definition = billingV1.BillingServiceService;
const policy = billingPolicy;
let server: PolicyCellServer;

beforeAll(async () => {
  server = await servePolicyCells('switchboard.billing.v1.BillingService', definition, policy);
});
afterAll(() => server?.close());

describe('who may call what: switchboard.billing.v1.BillingService', () => {
  it.each(policyCells(definition, policy).map((cell) => [cell.label, cell] as const))('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
