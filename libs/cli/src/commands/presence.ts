import { presenceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi, type UnaryMethod } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50057';
const { AgentState } = presenceV1;

export interface PresenceCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: PresenceCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

const SETTABLE: Record<string, presenceV1.AgentState> = {
  available: AgentState.AGENT_STATE_AVAILABLE,
  away: AgentState.AGENT_STATE_AWAY,
  offline: AgentState.AGENT_STATE_OFFLINE,
};

export const stateName = (state: presenceV1.AgentState) =>
  presenceV1.agentStateToJSON(state).replace(/^AGENT_STATE_/, '');

/** Runs one Presence API call with a token for the tenant and closes the client. */
function callPresence<Req, Res>(
  tenant: string,
  io: PresenceCommandIo,
  method: (client: presenceV1.PresenceServiceClient) => UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return withApi(
    {
      address: io.env['SB_PRESENCE_ADDR'] || DEFAULT_ADDRESS,
      tenant,
      env: io.env,
      create: (address, credentials) => new presenceV1.PresenceServiceClient(address, credentials),
    },
    (connection) => unary(connection, method(connection.client), request),
  );
}

/** Every agent of a tenant with its live state (for the directory listings' `--live`). */
export async function liveAgents(
  tenant: string,
  io: Pick<PresenceCommandIo, 'env'>,
): Promise<Map<string, presenceV1.Agent>> {
  const { agents } = await callPresence<presenceV1.ListAgentsRequest, presenceV1.ListAgentsResponse>(
    tenant,
    { ...io, write: () => undefined },
    (client) => client.listAgents,
    { tenantId: tenant, departmentId: '' },
  );
  return new Map(agents.map((agent) => [agent.agentId, agent]));
}

/** The order in which listings show live states. */
export const LIVE_STATES = ['AVAILABLE', 'RINGING', 'ON_CALL', 'WRAP_UP', 'AWAY', 'OFFLINE'] as const;

function agentLine(agent: presenceV1.Agent): string {
  const device = agent.homeOffice ? `home ${agent.homeOfficeNumber}` : (agent.devices[0] ?? '-');
  return [
    agent.agentId,
    stateName(agent.state),
    agent.stateSince?.toISOString() ?? '-',
    agent.departments.map((membership) => membership.departmentId).join(',') || '-',
    device,
  ].join('\t');
}

/** `sb presence list|set-state|home-office` over the Presence gRPC API (`SB_PRESENCE_ADDR`, default 127.0.0.1:50057). */
export function registerPresenceCommand(program: Command, io: PresenceCommandIo = processIo): void {
  const presence = program
    .command('presence')
    .description('agents and their live state (Presence API at SB_PRESENCE_ADDR)');

  presence
    .command('list')
    .description("list a tenant's agents with their live state")
    .requiredOption('--tenant <id>', 'tenant whose agents to list')
    .option('--department <id>', 'only members of this department')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; department?: string; json?: boolean }) => {
      const { agents } = await callPresence<presenceV1.ListAgentsRequest, presenceV1.ListAgentsResponse>(
        options.tenant,
        io,
        (client) => client.listAgents,
        { tenantId: options.tenant, departmentId: options.department ?? '' },
      );
      if (options.json) {
        io.write(
          `${JSON.stringify(
            agents.map((agent) => presenceV1.Agent.toJSON(agent)),
            null,
            2,
          )}\n`,
        );
        return;
      }
      io.write('AGENT\tSTATE\tSINCE\tDEPARTMENTS\tDIALLED AT\n');
      for (const agent of agents) io.write(`${agentLine(agent)}\n`);
    });

  presence
    .command('set-state')
    .description('set an agent available, away or offline')
    .requiredOption('--tenant <id>', 'tenant of the agent')
    .argument('<agent>', 'agent id')
    .argument('<state>', 'available | away | offline')
    .action(async (agentId: string, state: string, options: { tenant: string }) => {
      const wanted = SETTABLE[state];
      if (wanted === undefined) throw new Error(`state must be one of ${Object.keys(SETTABLE).join(', ')}`);
      const { agent } = await callPresence<presenceV1.SetStateRequest, presenceV1.SetStateResponse>(
        options.tenant,
        io,
        (client) => client.setState,
        { tenantId: options.tenant, agentId, state: wanted },
      );
      io.write(`${agentLine(agent!)}\n`);
    });

  presence
    .command('home-office')
    .description("turn an agent's home office on (calls go to the home/mobile number) or off")
    .requiredOption('--tenant <id>', 'tenant of the agent')
    .argument('<agent>', 'agent id')
    .argument('<switch>', 'on | off')
    .option('--number <e164>', 'home or mobile number to dial, e.g. +4915112345678')
    .action(async (agentId: string, onOff: string, options: { tenant: string; number?: string }) => {
      if (onOff !== 'on' && onOff !== 'off') throw new Error('home-office takes "on" or "off"');
      const { agent } = await callPresence<presenceV1.SetHomeOfficeRequest, presenceV1.SetHomeOfficeResponse>(
        options.tenant,
        io,
        (client) => client.setHomeOffice,
        { tenantId: options.tenant, agentId, enabled: onOff === 'on', homeOfficeNumber: options.number ?? '' },
      );
      io.write(`${agentLine(agent!)}\n`);
    });
}
