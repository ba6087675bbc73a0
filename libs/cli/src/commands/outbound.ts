import { DEFAULT_OUTBOUND_POLICY } from '@switchboard/numbering';
import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { type Command, Option } from 'commander';
import { unary, withApi, type UnaryMethod } from '../api-connection.js';

// `sb outbound show|set|clear`: a tenant's outbound barring (the directory's tenant
// outboundPolicy and its sites' outboundOverride), which routing and call control apply.

const DEFAULT_ADDRESS = '127.0.0.1:50054';

export interface OutboundCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: OutboundCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

type Policy = directoryV1.OutboundPolicy;

/** The columns, each with the option that changes it and whether `true` in the field allows. */
const FIELDS = [
  { column: 'PREMIUM', option: 'premium', field: 'allowPremium', allows: true },
  { column: 'MASS TRAFFIC', option: 'mass-traffic', field: 'allowMassTraffic', allows: true },
  { column: 'DIRECTORY ENQUIRIES', option: 'directory-enquiries', field: 'allowDirectoryEnquiries', allows: true },
  { column: 'INTERNATIONAL', option: 'international', field: 'barInternational', allows: false },
] as const;

type Choice = 'allow' | 'bar';
type SetOptions = { tenant: string; site?: string } & Partial<Record<string, Choice>>;

function call<Req, Res>(
  io: OutboundCommandIo,
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

const allowed = (policy: Policy, field: (typeof FIELDS)[number]) => policy[field.field] === field.allows;
const row = (scope: string, policy: Policy) => [
  scope,
  ...FIELDS.map((field) => (allowed(policy, field) ? 'allowed' : 'barred')),
];
const table = (rows: string[][]) => rows.map((cells) => `${cells.join('\t')}\n`).join('');
const optionName = (option: string) => option.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Registers `sb outbound show|set|clear` (Directory API, SB_DIRECTORY_ADDR). */
export function registerOutboundCommands(program: Command, io: OutboundCommandIo = processIo): void {
  const outbound = program
    .command('outbound')
    .description("a tenant's outbound barring: which outside numbers its calls may reach (110 and 112 always)");

  const read = async (tenantId: string) => {
    const [{ tenant }, { sites }] = await Promise.all([
      call<directoryServiceV1.GetTenantRequest, directoryServiceV1.GetTenantResponse>(
        io,
        tenantId,
        (client) => client.getTenant,
        { tenantId },
      ),
      call<directoryServiceV1.ListSitesRequest, directoryServiceV1.ListSitesResponse>(
        io,
        tenantId,
        (client) => client.listSites,
        { tenantId },
      ),
    ]);
    return { tenant: tenant!, policy: tenant?.outboundPolicy ?? { ...DEFAULT_OUTBOUND_POLICY }, sites };
  };

  outbound
    .command('show')
    .description("print the tenant's policy and every site's override")
    .requiredOption('--tenant <id>', 'tenant to show')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; json?: boolean }) => {
      const { policy, sites } = await read(options.tenant);
      const overrides = sites.filter((site) => site.outboundOverride);
      if (options.json) {
        return io.write(
          `${JSON.stringify(
            {
              tenant: directoryV1.OutboundPolicy.toJSON(policy),
              sites: Object.fromEntries(
                overrides.map((site) => [site.siteId, directoryV1.OutboundPolicy.toJSON(site.outboundOverride!)]),
              ),
            },
            null,
            2,
          )}\n`,
        );
      }
      io.write(
        table([
          ['SCOPE', ...FIELDS.map((field) => field.column)],
          row('tenant', policy),
          ...overrides.map((site) => row(`site ${site.siteId}`, site.outboundOverride!)),
        ]) + 'Sites not listed follow the tenant. 110 and 112 are always allowed.\n',
      );
    });

  const set = outbound
    .command('set')
    .description(
      "change the tenant's policy, or with --site a site's override (a site without one starts from the tenant's policy)",
    )
    .requiredOption('--tenant <id>', 'tenant to change')
    .option('--site <id>', "the site whose override to set instead of the tenant's policy");
  for (const field of FIELDS) {
    set.addOption(
      new Option(`--${field.option} <choice>`, `allow or bar ${field.column.toLowerCase()}`).choices(['allow', 'bar']),
    );
  }
  set.action(async (options: SetOptions) => {
    const changes = FIELDS.flatMap((field) => {
      const choice = options[optionName(field.option)];
      return choice ? [{ field, allow: choice === 'allow' }] : [];
    });
    if (changes.length === 0) {
      throw new Error(
        `nothing to change: give at least one of ${FIELDS.map((field) => `--${field.option}`).join(', ')}`,
      );
    }
    const apply = (base: Policy): Policy => {
      const next = { ...base };
      for (const { field, allow } of changes) next[field.field] = allow === field.allows;
      return next;
    };
    const tenantId = options.tenant;
    const { tenant, policy } = await read(tenantId);
    if (!options.site) {
      const next = apply(policy);
      await call<directoryServiceV1.UpdateTenantRequest, directoryServiceV1.UpdateTenantResponse>(
        io,
        tenantId,
        (client) => client.updateTenant,
        { tenantId, tenant: { ...tenant, outboundPolicy: next } },
      );
      return io.write(table([['SCOPE', ...FIELDS.map((field) => field.column)], row('tenant', next)]));
    }
    const { site } = await call<directoryServiceV1.GetSiteRequest, directoryServiceV1.GetSiteResponse>(
      io,
      tenantId,
      (client) => client.getSite,
      { tenantId, siteId: options.site },
    );
    const next = apply(site!.outboundOverride ?? policy);
    await call<directoryServiceV1.UpdateSiteRequest, directoryServiceV1.UpdateSiteResponse>(
      io,
      tenantId,
      (client) => client.updateSite,
      { tenantId, site: { ...site!, outboundOverride: next } },
    );
    io.write(table([['SCOPE', ...FIELDS.map((field) => field.column)], row(`site ${options.site}`, next)]));
  });

  outbound
    .command('clear')
    .description("remove a site's override: the site follows the tenant's policy again")
    .requiredOption('--tenant <id>', 'tenant of the site')
    .requiredOption('--site <id>', 'the site')
    .action(async (options: { tenant: string; site: string }) => {
      const tenantId = options.tenant;
      const { site } = await call<directoryServiceV1.GetSiteRequest, directoryServiceV1.GetSiteResponse>(
        io,
        tenantId,
        (client) => client.getSite,
        { tenantId, siteId: options.site },
      );
      await call<directoryServiceV1.UpdateSiteRequest, directoryServiceV1.UpdateSiteResponse>(
        io,
        tenantId,
        (client) => client.updateSite,
        { tenantId, site: { ...site!, outboundOverride: undefined } },
      );
      io.write(`site ${options.site} follows the tenant's outbound policy\n`);
    });
}
