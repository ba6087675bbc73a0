import { readFile, writeFile } from 'node:fs/promises';
import { directoryServiceV1, directoryV1, presenceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { unary, withApi, type UnaryMethod } from '../api-connection.js';
import { LIVE_STATES, liveAgents, stateName } from './presence.js';

const DEFAULT_ADDRESS = '127.0.0.1:50054';
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export interface DirectoryCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: DirectoryCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

/** Runs one call against the Directory API (`SB_DIRECTORY_ADDR`) and closes the client. */
function call<Req, Res>(
  io: DirectoryCommandIo,
  tenant: string,
  pick: (client: directoryServiceV1.DirectoryServiceClient) => UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return withApi(
    {
      address: io.env['SB_DIRECTORY_ADDR'] || DEFAULT_ADDRESS,
      tenant,
      env: io.env,
      // An export with its audit log is one message, often over grpc-js's 4 MiB default.
      create: (address, credentials) =>
        new directoryServiceV1.DirectoryServiceClient(address, credentials, {
          'grpc.max_receive_message_length': MAX_DOCUMENT_BYTES,
        }),
    },
    (connection) => unary(connection, pick(connection.client), request),
  );
}

/**
 * The tenant a document is for, so `import` needs only the file, and what to send: an exported
 * audit log is left out (the directory ignores it, and it would only make the request large).
 */
function importable(text: string, file: string): { tenantId: string; document: string } {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`${file} is not YAML or JSON: ${(error as Error).message}`);
  }
  const tenantId = (document as { tenant?: { tenantId?: unknown } } | null)?.tenant?.tenantId;
  if (typeof tenantId !== 'string' || !tenantId) throw new Error(`${file} has no tenant.tenantId`);
  if (!('audit' in (document as object))) return { tenantId, document: text };
  const { audit: _ignored, ...rest } = document as Record<string, unknown>;
  return { tenantId, document: JSON.stringify(rest) };
}

const enumName = (name: string, prefix: string) => name.slice(prefix.length).toLowerCase().replaceAll('_', '-');

function table(rows: string[][]): string {
  return rows.map((row) => `${row.join('\t')}\n`).join('');
}

function departmentRow(department: directoryV1.Department, names: Map<string, string>): string[] {
  const overflow = department.overflow;
  const overflowText =
    overflow && overflow.kind !== directoryV1.OverflowKind.OVERFLOW_KIND_NONE
      ? `${enumName(directoryV1.overflowKindToJSON(overflow.kind), 'OVERFLOW_KIND_')}${overflow.target ? `:${overflow.target}` : ''}`
      : '-';
  return [
    department.departmentId,
    department.name,
    enumName(directoryV1.strategyToJSON(department.strategy), 'STRATEGY_'),
    department.members.map((member) => names.get(member.staffId) ?? member.staffId).join(', ') || '-',
    `${department.ringTimeoutSeconds}s`,
    `${department.maxWaitSeconds}s`,
    overflowText,
  ];
}

function agentRow(staff: directoryV1.Staff): string[] {
  return [
    staff.staffId,
    staff.displayName,
    staff.extension,
    staff.siteId || '-',
    staff.devices.join(', ') || '-',
    staff.skills.join(', ') || '-',
    staff.homeOffice ? `home office ${staff.homeOfficeNumber}` : '-',
  ];
}

/** Members of a department per live state, e.g. `AVAILABLE 2, ON_CALL 1`. */
function liveCounts(department: directoryV1.Department, live: Map<string, presenceV1.Agent>): string {
  const counts = new Map<string, number>();
  for (const member of department.members) {
    const agent = live.get(member.staffId);
    const state = agent ? stateName(agent.state) : 'UNKNOWN';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const order = [...LIVE_STATES, 'UNKNOWN'];
  return (
    [...counts]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
      .map(([state, count]) => `${state} ${count}`)
      .join(', ') || '-'
  );
}

/**
 * `sb tenant import|export`, `sb departments`, `sb agents`, `sb device rotate-password`: the
 * directory over its gRPC API.
 * With `--live` the listings are joined with presence's live state (SB_PRESENCE_ADDR).
 */
export function registerDirectoryCommands(program: Command, io: DirectoryCommandIo = processIo): void {
  const tenant = program.command('tenant').description('whole tenants as one YAML/JSON document (Directory API)');

  tenant
    .command('import')
    .description('replace a tenant with the document in a file; all or nothing')
    .requiredOption('--file <file>', 'YAML or JSON document, e.g. services/directory/demo/amt-kropp.yaml')
    .action(async (options: { file: string }) => {
      const { tenantId, document } = importable(await readFile(options.file, 'utf8'), options.file);
      const result = await call<directoryServiceV1.ImportTenantRequest, directoryServiceV1.ImportTenantResponse>(
        io,
        tenantId,
        (client) => client.importTenant,
        { tenantId, document },
      );
      io.write(
        `imported ${tenantId}: ${result.sites} sites, ${result.numbers} numbers, ${result.departments} departments, ${result.staff} staff (version ${result.version})\n`,
      );
    });

  tenant
    .command('export')
    .description('print (or save) a tenant as one document, with its audit log (which an import ignores)')
    .requiredOption('--tenant <id>', 'tenant to export')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--json', 'JSON instead of YAML')
    .option('--no-audit', "leave out the tenant's audit log (only admins and operators may read it)")
    .action(async (options: { tenant: string; out?: string; json?: boolean; audit: boolean }) => {
      const { document } = await call<directoryServiceV1.ExportTenantRequest, directoryServiceV1.ExportTenantResponse>(
        io,
        options.tenant,
        (client) => client.exportTenant,
        {
          tenantId: options.tenant,
          format: options.json
            ? directoryServiceV1.DocumentFormat.DOCUMENT_FORMAT_JSON
            : directoryServiceV1.DocumentFormat.DOCUMENT_FORMAT_YAML,
          includeAudit: options.audit,
        },
      );
      if (!options.out) return io.write(document);
      await writeFile(options.out, document);
      io.write(`saved ${options.tenant} to ${options.out}\n`);
    });

  program
    .command('departments')
    .description('list a tenant’s departments (queues) with members, strategy and overflow')
    .requiredOption('--tenant <id>', 'tenant to list')
    .option('--json', 'print JSON')
    .option('--live', "add the members' live states from presence")
    .action(async (options: { tenant: string; json?: boolean; live?: boolean }) => {
      const request = { tenantId: options.tenant };
      const { departments } = await call<
        directoryServiceV1.ListDepartmentsRequest,
        directoryServiceV1.ListDepartmentsResponse
      >(io, options.tenant, (client) => client.listDepartments, request);
      const live = options.live ? await liveAgents(options.tenant, io) : undefined;
      if (options.json) {
        return io.write(
          `${JSON.stringify(
            departments.map((entry) => ({
              ...(directoryV1.Department.toJSON(entry) as object),
              ...(live ? { live: liveCounts(entry, live) } : {}),
            })),
            null,
            2,
          )}\n`,
        );
      }
      const { staff } = await call<directoryServiceV1.ListStaffRequest, directoryServiceV1.ListStaffResponse>(
        io,
        options.tenant,
        (client) => client.listStaff,
        request,
      );
      const names = new Map(staff.map((entry) => [entry.staffId, entry.displayName]));
      io.write(
        table([
          ['ID', 'NAME', 'STRATEGY', 'MEMBERS', 'RING', 'MAX WAIT', 'OVERFLOW', ...(live ? ['LIVE'] : [])],
          ...departments.map((entry) => [...departmentRow(entry, names), ...(live ? [liveCounts(entry, live)] : [])]),
        ]),
      );
    });

  program
    .command('agents')
    .description('list a tenant’s staff with extension, devices, skills and home office')
    .requiredOption('--tenant <id>', 'tenant to list')
    .option('--json', 'print JSON')
    .option('--live', "add each agent's live state from presence")
    .action(async (options: { tenant: string; json?: boolean; live?: boolean }) => {
      const { staff } = await call<directoryServiceV1.ListStaffRequest, directoryServiceV1.ListStaffResponse>(
        io,
        options.tenant,
        (client) => client.listStaff,
        { tenantId: options.tenant },
      );
      const live = options.live ? await liveAgents(options.tenant, io) : undefined;
      if (options.json) {
        return io.write(
          `${JSON.stringify(
            staff.map((entry) => {
              const agent = live?.get(entry.staffId);
              return {
                ...(directoryV1.Staff.toJSON(entry) as object),
                ...(live ? { live: agent ? presenceV1.Agent.toJSON(agent) : null } : {}),
              };
            }),
            null,
            2,
          )}\n`,
        );
      }
      const liveColumns = (entry: directoryV1.Staff) => {
        const agent = live?.get(entry.staffId);
        if (!agent) return ['UNKNOWN', '-', '-'];
        const dialled = agent.homeOffice ? `home ${agent.homeOfficeNumber}` : (agent.devices[0] ?? '-');
        return [stateName(agent.state), agent.stateSince?.toISOString() ?? '-', dialled];
      };
      const header = ['ID', 'NAME', 'EXT', 'SITE', 'DEVICES', 'SKILLS', 'HOME OFFICE'];
      io.write(
        table([
          [...header, ...(live ? ['STATE', 'SINCE', 'DIALLED AT'] : [])],
          ...staff.map((entry) => [...agentRow(entry), ...(live ? liveColumns(entry) : [])]),
        ]),
      );
    });

  program
    .command('device')
    .description("staff members' phones (PJSIP endpoints)")
    .command('rotate-password')
    .description('give a device a new random SIP password and print it, once')
    .requiredOption('--tenant <id>', 'tenant the device belongs to')
    .argument('<deviceId>', 'the device, e.g. kropp-101')
    .action(async (deviceId: string, options: { tenant: string }) => {
      const rotated = await call<
        directoryServiceV1.RotateDevicePasswordRequest,
        directoryServiceV1.RotateDevicePasswordResponse
      >(io, options.tenant, (client) => client.rotateDevicePassword, { tenantId: options.tenant, deviceId });
      io.write(
        `device ${rotated.deviceId}: username ${rotated.username}, password ${rotated.password}\n` +
          'The password is not shown again (only its digest is kept): enter it in the phone now, or rotate again.\n',
      );
    });
}
