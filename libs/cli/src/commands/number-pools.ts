import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { NUMBER_BLOCK_FORMS, NumberBlockError, formatNumberBlock, parseNumberBlock } from '@switchboard/numbering';
import type { Command } from 'commander';
import { unary, withApi, type UnaryMethod } from '../api-connection.js';

// `sb numbers pool assign|list|delete|request|release`: the number pools the provider assigns a
// tenant and the numbers its admins take from them and give back (Directory API).

const DEFAULT_ADDRESS = '127.0.0.1:50054';

export interface NumberPoolCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: NumberPoolCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

function call<Req, Res>(
  io: NumberPoolCommandIo,
  tenant: string,
  pick: (client: directoryServiceV1.DirectoryServiceClient) => UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return withApi(
    {
      address: io.env['SB_DIRECTORY_ADDR'] || DEFAULT_ADDRESS,
      tenant,
      env: io.env,
      create: (address, credentials) => new directoryServiceV1.DirectoryServiceClient(address, credentials),
    },
    (connection) => unary(connection, pick(connection.client), request),
  );
}

/** A `--block` as written on the command line (the shared notation); the directory checks the numbers. */
export function parseBlock(text: string): directoryV1.NumberBlock {
  try {
    return parseNumberBlock(text);
  } catch (error) {
    if (error instanceof NumberBlockError) throw new Error(`--block ${error.message}`);
    throw error;
  }
}

/** `department:bauamt` → an entry point; the kind names as in the directory's documents. */
export function parseTarget(text: string): directoryV1.EntryPoint {
  const match = /^(ivr-menu|department|extension|fax-department):(.+)$/.exec(text);
  if (!match) {
    throw new Error(
      `--to ${text}: must be KIND:TARGET with KIND ivr-menu, department, extension or fax-department (e.g. department:bauamt)`,
    );
  }
  return {
    kind: directoryV1.entryPointKindFromJSON(`ENTRY_POINT_KIND_${match[1]!.toUpperCase().replaceAll('-', '_')}`),
    target: match[2]!,
  };
}

const targetText = (entryPoint: directoryV1.EntryPoint | undefined) =>
  entryPoint
    ? `${directoryV1.entryPointKindToJSON(entryPoint.kind).slice('ENTRY_POINT_KIND_'.length).toLowerCase().replaceAll('_', '-')}:${entryPoint.target}`
    : '-';
const table = (rows: string[][]) => rows.map((cells) => `${cells.join('\t')}\n`).join('');

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`--count ${value}: must be a whole number from 1`);
  return parsed;
}

/** Registers `sb numbers pool …` (Directory API, SB_DIRECTORY_ADDR). */
export function registerNumberPoolCommands(program: Command, io: NumberPoolCommandIo = processIo): void {
  const pool = program
    .command('numbers')
    .description("a tenant's numbers (Directory API)")
    .command('pool')
    .description('number pools: blocks the provider assigns a tenant, numbers its admins take and give back');

  pool
    .command('assign')
    .description('give the tenant a pool (or replace the pool of that id; operator only)')
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--pool <id>', 'the pool id, e.g. kropp-1')
    .option('--name <text>', 'what the pool is called', '')
    .requiredOption(
      '--block <block>',
      `numbers of the pool, repeatable: ${NUMBER_BLOCK_FORMS}`,
      (value: string, previous: directoryV1.NumberBlock[]) => [...previous, parseBlock(value)],
      [],
    )
    .action(async (options: { tenant: string; pool: string; name: string; block: directoryV1.NumberBlock[] }) => {
      const { pool: status } = await call<
        directoryServiceV1.AssignNumberPoolRequest,
        directoryServiceV1.AssignNumberPoolResponse
      >(io, options.tenant, (client) => client.assignNumberPool, {
        tenantId: options.tenant,
        pool: { poolId: options.pool, name: options.name, blocks: options.block },
      });
      io.write(`pool ${options.pool} of ${options.tenant}: ${status!.size} numbers, ${status!.free} free\n`);
    });

  pool
    .command('list')
    .description("the tenant's pools: blocks, size, numbers in use, free")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; json?: boolean }) => {
      const { pools } = await call<
        directoryServiceV1.ListNumberPoolsRequest,
        directoryServiceV1.ListNumberPoolsResponse
      >(io, options.tenant, (client) => client.listNumberPools, { tenantId: options.tenant });
      if (options.json) {
        return io.write(
          `${JSON.stringify(
            pools.map((status) => directoryServiceV1.NumberPoolStatus.toJSON(status)),
            null,
            2,
          )}\n`,
        );
      }
      io.write(
        table([
          ['POOL', 'NAME', 'BLOCKS', 'SIZE', 'FREE', 'IN USE'],
          ...pools.map((status) => [
            status.pool!.poolId,
            status.pool!.name || '-',
            status.pool!.blocks.map(formatNumberBlock).join(', '),
            String(status.size),
            String(status.free),
            status.inUse.join(', ') || '-',
          ]),
        ]),
      );
    });

  pool
    .command('delete')
    .description('take a pool away (operator only; none of its numbers may be in use)')
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--pool <id>', 'the pool id')
    .action(async (options: { tenant: string; pool: string }) => {
      await call<directoryServiceV1.DeleteNumberPoolRequest, directoryServiceV1.DeleteNumberPoolResponse>(
        io,
        options.tenant,
        (client) => client.deleteNumberPool,
        { tenantId: options.tenant, poolId: options.pool },
      );
      io.write(`pool ${options.pool} of ${options.tenant} deleted\n`);
    });

  pool
    .command('request')
    .description("take the lowest free numbers (or one named) as the tenant's, all or none")
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption(
      '--to <kind:target>',
      'where calls go: ivr-menu:ID, department:ID, extension:NNN or fax-department:ID',
    )
    .option('--count <n>', 'how many numbers', positiveInteger)
    .option('--number <e164>', 'one particular free number instead of --count')
    .option('--pool <id>', "the pool to take from (default: the tenant's pools in order)", '')
    .option('--site <id>', 'the site the numbers belong to', '')
    .action(
      async (options: { tenant: string; to: string; count?: number; number?: string; pool: string; site: string }) => {
        if ((options.count === undefined) === (options.number === undefined)) {
          throw new Error('give either --count or --number');
        }
        const entryPoint = parseTarget(options.to);
        const fax = entryPoint.kind === directoryV1.EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT;
        const { numbers } = await call<
          directoryServiceV1.RequestPoolNumbersRequest,
          directoryServiceV1.RequestPoolNumbersResponse
        >(io, options.tenant, (client) => client.requestPoolNumbers, {
          tenantId: options.tenant,
          poolId: options.pool,
          count: options.count ?? 0,
          number: options.number ?? '',
          kind: fax ? directoryV1.NumberKind.NUMBER_KIND_FAX : directoryV1.NumberKind.NUMBER_KIND_MAIN,
          siteId: options.site,
          entryPoint,
        });
        io.write(table(numbers.map((number) => [number.number, targetText(number.entryPoint)])));
      },
    );

  pool
    .command('release')
    .description('give a number back to its pool (the IVR menu or department it led to stays)')
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--number <e164>', 'the number')
    .option('--allow-unreachable', 'release it even when it is the last number leading to its IVR menu or department')
    .action(async (options: { tenant: string; number: string; allowUnreachable?: boolean }) => {
      const { released } = await call<
        directoryServiceV1.ReleasePoolNumberRequest,
        directoryServiceV1.ReleasePoolNumberResponse
      >(io, options.tenant, (client) => client.releasePoolNumber, {
        tenantId: options.tenant,
        number: options.number,
        allowUnreachable: options.allowUnreachable ?? false,
      });
      io.write(`released ${options.number} (it led to ${targetText(released?.entryPoint)})\n`);
    });
}
