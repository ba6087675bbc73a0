import { ratingServiceV1 } from '@switchboard/proto';
import {
  expectedOutcome,
  policyCells,
  servePolicyCells,
  type PolicyCellServer,
} from '@switchboard/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ratingPolicy } from './policy.js';

// Every cell of the declared policy over gRPC: allowed cells reach the handler, denied ones never do.
const definition = ratingServiceV1.RatingServiceService;
const policy = ratingPolicy;
let server: PolicyCellServer;

beforeAll(async () => {
  server = await servePolicyCells('switchboard.rating.v1.RatingService', definition, policy);
});
afterAll(() => server?.close());

describe('who may call what: switchboard.rating.v1.RatingService', () => {
  it.each(policyCells(definition, policy).map((cell) => [cell.label, cell] as const))('%s', async (_label, cell) => {
    expect(await server.call(cell)).toEqual(expectedOutcome(cell));
  });
});
