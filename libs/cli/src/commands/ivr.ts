import { readFile, writeFile } from 'node:fs/promises';
import { ivrServiceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi, type ApiConnection } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50056';

export interface IvrCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: IvrCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

type Connection = ApiConnection<ivrServiceV1.IvrServiceClient>;

function withConnection<T>(tenant: string, io: IvrCommandIo, work: (c: Connection) => Promise<T>): Promise<T> {
  return withApi(
    {
      address: io.env['SB_IVR_ADDR'] || DEFAULT_ADDRESS,
      tenant,
      env: io.env,
      create: (address, credentials) => new ivrServiceV1.IvrServiceClient(address, credentials),
    },
    work,
  );
}

const listMenus = (connection: Connection, tenantId: string) =>
  unary<ivrServiceV1.ListMenusRequest, ivrServiceV1.ListMenusResponse>(connection, connection.client.listMenus, {
    tenantId,
  });

/** The exported form: menus as proto JSON, without the output-only fields. */
function exportedMenu(menu: ivrServiceV1.Menu): unknown {
  const {
    tenantId: _tenant,
    revision: _revision,
    updatedAt: _updated,
    ...rest
  } = ivrServiceV1.Menu.toJSON(menu) as Record<string, unknown>;
  return rest;
}

function parseMenuFile(text: string, file: string): ivrServiceV1.Menu[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  const menus = (parsed as { menus?: unknown } | null)?.menus;
  if (!Array.isArray(menus)) throw new Error(`${file} must be an object with a "menus" array`);
  return menus.map((menu) => ivrServiceV1.Menu.fromJSON(menu));
}

/**
 * `sb ivr list|export|import`: a tenant's voice menus over the IVR gRPC API (`SB_IVR_ADDR`,
 * default 127.0.0.1:50056). `import` replaces the tenant's whole menu set with the file's,
 * validated by the service as one change.
 */
export function registerIvrCommand(program: Command, io: IvrCommandIo = processIo): void {
  const ivr = program.command('ivr').description('voice menus (IVR API at SB_IVR_ADDR)');

  ivr
    .command('list')
    .description("list a tenant's menus")
    .requiredOption('--tenant <id>', 'tenant whose menus to list')
    .action(async (options: { tenant: string }) => {
      const { menus, revision } = await withConnection(options.tenant, io, (c) => listMenus(c, options.tenant));
      io.write(`ID\tENTRY\tLANGUAGE\tOPTIONS\tNAME\n`);
      for (const menu of menus) {
        const keys = menu.options.map((option) => option.digits).join(',') || '-';
        io.write(`${menu.menuId}\t${menu.entry ? 'yes' : 'no'}\t${menu.language}\t${keys}\t${menu.name}\n`);
      }
      io.write(`revision ${revision}\n`);
    });

  ivr
    .command('export')
    .description("write a tenant's menus as JSON")
    .requiredOption('--tenant <id>', 'tenant whose menus to export')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: { tenant: string; out?: string }) => {
      const { menus } = await withConnection(options.tenant, io, (c) => listMenus(c, options.tenant));
      const text = `${JSON.stringify({ menus: menus.map(exportedMenu) }, null, 2)}\n`;
      if (options.out) {
        await writeFile(options.out, text);
        io.write(`exported ${menus.length} menus to ${options.out}\n`);
      } else {
        io.write(text);
      }
    });

  ivr
    .command('import')
    .description("replace a tenant's menus with those of a JSON file (as written by export)")
    .requiredOption('--tenant <id>', 'tenant whose menus to replace')
    .argument('<file>', 'JSON file: { "menus": [...] }')
    .action(async (file: string, options: { tenant: string }) => {
      const menus = parseMenuFile(await readFile(file, 'utf8'), file);
      const saved = await withConnection(options.tenant, io, async (c) => {
        const current = await listMenus(c, options.tenant);
        const kept = new Set(menus.map((menu) => menu.menuId));
        return unary<ivrServiceV1.SaveMenusRequest, ivrServiceV1.SaveMenusResponse>(c, c.client.saveMenus, {
          tenantId: options.tenant,
          menus: menus.map((menu) => ({ ...menu, tenantId: options.tenant })),
          deleteMenuIds: current.menus.map((menu) => menu.menuId).filter((menuId) => !kept.has(menuId)),
          // Fails rather than overwrite a change made since the list above.
          expectedRevision: current.revision,
        });
      });
      io.write(`imported ${saved.menus.length} menus, revision ${saved.revision}\n`);
    });
}
