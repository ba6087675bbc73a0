import * as grpc from '@grpc/grpc-js';
import { routingV1 } from '@switchboard/proto';
import {
  GrpcServer,
  GrpcStatusError,
  createAuthenticator,
  createLogger,
  currentPrincipal,
} from '@switchboard/service-kit';
import { testTokens } from '@switchboard/testkit';
import { permitAll, unimplementedHandlers } from '@switchboard/service-kit/testing';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRoutingCommands } from './routing.js';

const TOKENS = testTokens();
const NOW = new Date('2026-03-02T08:01:00Z');
const callers: string[] = [];

let server: GrpcServer;
let address: string;

/** The Routing API methods the CLI calls, with one queued call, behind the kit's real auth. */
const implementation: routingV1.RoutingServiceServer = {
  ...(unimplementedHandlers(routingV1.RoutingServiceService) as routingV1.RoutingServiceServer),
  listCalls: (call, callback) => {
    callers.push(currentPrincipal().tenantId);
    callback(null, {
      calls: [
        routingV1.LiveCall.fromPartial({
          callId: '1772438400.7',
          step: 'queued',
          departmentId: 'standesamt',
          queuePosition: 2,
          enqueuedAt: new Date('2026-03-02T08:00:15Z'),
          startedAt: new Date('2026-03-02T08:00:00Z'),
          caller: '+4940123456',
        }),
      ].filter((live) => !call.request.departmentId || live.departmentId === call.request.departmentId),
    });
  },
  getQueue: (call, callback) => {
    if (call.request.departmentId !== 'standesamt')
      return callback(new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'no such queue'));
    callback(null, {
      entries: [
        { callId: '1772438400.3', position: 1, enqueuedAt: new Date('2026-03-02T08:00:00Z'), ringing: true },
        { callId: '1772438400.7', position: 2, enqueuedAt: new Date('2026-03-02T08:00:15Z'), ringing: false },
      ],
    });
  },
};

async function sb(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  registerRoutingCommands(
    program,
    { env: { SB_ROUTING_ADDR: address, ...TOKENS.issuerEnv, USER: 'ops' }, write: (text) => (output += text) },
    () => NOW,
  );
  await program.parseAsync(args, { from: 'user' });
  return output;
}

beforeAll(async () => {
  server = new GrpcServer({
    authenticator: createAuthenticator({
      publicKeys: TOKENS.publicKeys,
      issuer: 'switchboard',
      audience: 'switchboard',
    }),
    logger: createLogger({ service: 'cli-routing-test', level: 'silent' }),
  });
  server.addService(
    'switchboard.routing.v1.RoutingService',
    routingV1.RoutingServiceService,
    implementation,
    permitAll(routingV1.RoutingServiceService),
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
});

afterAll(async () => server?.shutdown(1_000));

describe('sb calls and sb queue', () => {
  it('lists live calls with their queue position and wait', async () => {
    expect((await sb('calls', '--tenant', 't-kropp')).split('\n')).toEqual([
      'CALL\tSTEP\tDEPARTMENT\tPOSITION\tWAITING\tAGENT\tCALLER',
      '1772438400.7\tqueued\tstandesamt\t2\t45s\t-\t+4940123456',
      '',
    ]);
    const json = JSON.parse(await sb('calls', '--tenant', 't-kropp', '--department', 'bauhof', '--json')) as unknown[];
    expect(json).toEqual([]);
    expect(callers).toEqual(['t-kropp', 't-kropp']);
  });

  it("shows a department's queue in order and reports API errors", async () => {
    expect((await sb('queue', '--tenant', 't-kropp', '--department', 'standesamt')).split('\n')).toEqual([
      'POSITION\tCALL\tWAITING\tRINGING',
      '1\t1772438400.3\t60s\tyes',
      '2\t1772438400.7\t45s\tno',
      '',
    ]);
    await expect(sb('queue', '--tenant', 't-kropp', '--department', 'bauhof')).rejects.toThrow(
      'INVALID_ARGUMENT: no such queue',
    );
  });
});
