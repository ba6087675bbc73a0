import { routingV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi, type UnaryMethod } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50058';

export interface RoutingCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: RoutingCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

/** Runs one Routing API call with a token for the tenant and closes the client. */
function callRouting<Req, Res>(
  tenant: string,
  io: RoutingCommandIo,
  method: (client: routingV1.RoutingServiceClient) => UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return withApi(
    {
      address: io.env['SB_ROUTING_ADDR'] || DEFAULT_ADDRESS,
      tenant,
      env: io.env,
      create: (address, credentials) => new routingV1.RoutingServiceClient(address, credentials),
    },
    (connection) => unary(connection, method(connection.client), request),
  );
}

const waited = (since: Date | undefined, now: Date) =>
  since ? `${Math.max(Math.round((now.getTime() - since.getTime()) / 1000), 0)}s` : '-';

/** `sb calls` and `sb queue` over the Routing gRPC API (`SB_ROUTING_ADDR`, default 127.0.0.1:50058). */
export function registerRoutingCommands(
  program: Command,
  io: RoutingCommandIo = processIo,
  now = () => new Date(),
): void {
  program
    .command('calls')
    .description("a tenant's live calls: step, department, agent, queue position (Routing API at SB_ROUTING_ADDR)")
    .requiredOption('--tenant <id>', 'tenant whose calls to list')
    .option('--department <id>', 'only calls of this department')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; department?: string; json?: boolean }) => {
      const { calls } = await callRouting<routingV1.ListCallsRequest, routingV1.ListCallsResponse>(
        options.tenant,
        io,
        (client) => client.listCalls,
        { tenantId: options.tenant, departmentId: options.department ?? '' },
      );
      if (options.json) {
        io.write(
          `${JSON.stringify(
            calls.map((call) => routingV1.LiveCall.toJSON(call)),
            null,
            2,
          )}\n`,
        );
        return;
      }
      const at = now();
      io.write('CALL\tSTEP\tDEPARTMENT\tPOSITION\tWAITING\tAGENT\tCALLER\n');
      for (const call of calls) {
        io.write(
          `${[
            call.callId,
            call.step,
            call.departmentId || '-',
            call.queuePosition || '-',
            waited(call.enqueuedAt, at),
            call.agentId || '-',
            call.caller || '-',
          ].join('\t')}\n`,
        );
      }
    });

  program
    .command('queue')
    .description("callers waiting in a department's queue, first come first served")
    .requiredOption('--tenant <id>', 'tenant of the department')
    .requiredOption('--department <id>', 'department whose queue to show')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; department: string; json?: boolean }) => {
      const { entries } = await callRouting<routingV1.GetQueueRequest, routingV1.GetQueueResponse>(
        options.tenant,
        io,
        (client) => client.getQueue,
        { tenantId: options.tenant, departmentId: options.department },
      );
      if (options.json) {
        io.write(
          `${JSON.stringify(
            entries.map((entry) => routingV1.QueueEntry.toJSON(entry)),
            null,
            2,
          )}\n`,
        );
        return;
      }
      const at = now();
      io.write('POSITION\tCALL\tWAITING\tRINGING\n');
      for (const entry of entries) {
        io.write(
          `${[entry.position, entry.callId, waited(entry.enqueuedAt, at), entry.ringing ? 'yes' : 'no'].join('\t')}\n`,
        );
      }
    });
}
