import * as grpc from '@grpc/grpc-js';
import { presenceV1 } from '@switchboard/proto';
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
import { registerPresenceCommand } from './presence.js';

const TOKENS = testTokens();
const { AgentState } = presenceV1;

let server: GrpcServer;
let address: string;
const agents = new Map<string, presenceV1.Agent>([
  [
    'anna',
    presenceV1.Agent.fromPartial({
      tenantId: 't-kropp',
      agentId: 'anna',
      departments: [{ departmentId: 'registry', wrapUpSeconds: 30 }],
      devices: ['PJSIP/kropp-anna'],
      homeOfficeNumber: '+4915112345678',
      state: AgentState.AGENT_STATE_AVAILABLE,
      stateSince: new Date('2026-03-02T08:00:00Z'),
    }),
  ],
]);
const callers: string[] = [];

/** A Presence API over one agent, behind the kit's real auth, so the CLI's token and calls are checked. */
function implementation(): presenceV1.PresenceServiceServer {
  const found = (agentId: string) => {
    const agent = agents.get(agentId);
    if (!agent) throw new GrpcStatusError(grpc.status.NOT_FOUND, `agent ${agentId} is unknown`);
    return agent;
  };
  return {
    ...(unimplementedHandlers(presenceV1.PresenceServiceService) as presenceV1.PresenceServiceServer),
    listAgents: (call, callback) => {
      callers.push(currentPrincipal().tenantId);
      callback(null, { agents: [...agents.values()].filter((agent) => agent.tenantId === call.request.tenantId) });
    },
    setState: (call, callback) => {
      try {
        const agent = { ...found(call.request.agentId), state: call.request.state };
        agents.set(agent.agentId, agent);
        callback(null, { agent });
      } catch (error) {
        callback(error as GrpcStatusError);
      }
    },
    setHomeOffice: (call, callback) => {
      const agent = {
        ...found(call.request.agentId),
        homeOffice: call.request.enabled,
      };
      agents.set(agent.agentId, agent);
      callback(null, { agent });
    },
  };
}

async function sb(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  registerPresenceCommand(program, {
    env: { SB_PRESENCE_ADDR: address, ...TOKENS.issuerEnv, USER: 'ops' },
    write: (text) => (output += text),
  });
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
    logger: createLogger({ service: 'cli-presence-test', level: 'silent' }),
  });
  server.addService(
    'switchboard.presence.v1.PresenceService',
    presenceV1.PresenceServiceService,
    implementation(),
    permitAll(presenceV1.PresenceServiceService),
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
});

afterAll(async () => server?.shutdown(1_000));

describe('sb presence', () => {
  it('lists agents with their live state, as a table and as JSON', async () => {
    expect((await sb('presence', 'list', '--tenant', 't-kropp')).split('\n')).toEqual([
      'AGENT\tSTATE\tSINCE\tDEPARTMENTS\tDIALLED AT',
      'anna\tAVAILABLE\t2026-03-02T08:00:00.000Z\tregistry\tPJSIP/kropp-anna',
      '',
    ]);
    const json = JSON.parse(await sb('presence', 'list', '--tenant', 't-kropp', '--json')) as unknown[];
    expect(json).toEqual([expect.objectContaining({ agentId: 'anna', state: 'AGENT_STATE_AVAILABLE' })]);
    expect(callers).toEqual(['t-kropp', 't-kropp']);
  });

  it('sets an agent away and into home office', async () => {
    expect(await sb('presence', 'set-state', '--tenant', 't-kropp', 'anna', 'away')).toMatch(/^anna\tAWAY\t/);
    expect(await sb('presence', 'home-office', '--tenant', 't-kropp', 'anna', 'on')).toMatch(
      /\thome \+4915112345678\n$/,
    );
  });

  it('refuses states an agent cannot set and reports API errors', async () => {
    await expect(sb('presence', 'set-state', '--tenant', 't-kropp', 'anna', 'ringing')).rejects.toThrow(
      'state must be one of available, away, offline',
    );
    await expect(sb('presence', 'set-state', '--tenant', 't-kropp', 'nobody', 'away')).rejects.toThrow(
      'NOT_FOUND: agent nobody is unknown',
    );
  });
});
