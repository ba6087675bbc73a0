import { writeFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi, type ApiConnection, type ApiTarget } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50053';

export interface FaxCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: FaxCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

type Connection = ApiConnection<faxServiceV1.FaxServiceClient>;

/** The Fax API, which also serves the voicemail inbox (`sb voicemail`). */
export function faxApi(tenant: string, io: FaxCommandIo): ApiTarget<faxServiceV1.FaxServiceClient> {
  return {
    address: io.env['SB_FAX_ADDR'] || DEFAULT_ADDRESS,
    tenant,
    env: io.env,
    create: (address, credentials) => new faxServiceV1.FaxServiceClient(address, credentials),
  };
}

function downloadPdf(connection: Connection, tenantId: string, faxId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = connection.client.downloadFax(
      { tenantId, faxId, format: faxServiceV1.DocumentFormat.DOCUMENT_FORMAT_PDF },
      connection.metadata,
    );
    const chunks: Buffer[] = [];
    stream.on('data', (part: faxServiceV1.DownloadFaxResponse) => chunks.push(Buffer.from(part.chunk)));
    stream.on('error', (error: grpc.ServiceError) => reject(new Error(`${grpc.status[error.code]}: ${error.details}`)));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const statusName = (status: faxServiceV1.FaxStatus) => faxServiceV1.faxStatusToJSON(status).replace(/^FAX_STATUS_/, '');

function faxLine(fax: faxServiceV1.Fax): string {
  return [
    fax.faxId,
    fax.receivedAt?.toISOString() ?? '-',
    fax.callerNumber || '-',
    fax.dialedNumber,
    String(fax.pages),
    statusName(fax.status),
    fax.handledAt ? 'handled' : 'open',
  ].join('\t');
}

function faxDetails(fax: faxServiceV1.Fax): string {
  const rows: Array<[string, string]> = [
    ['id', fax.faxId],
    ['received', fax.receivedAt?.toISOString() ?? '-'],
    ['from', [fax.callerNumber, fax.remoteStationId].filter(Boolean).join(' ') || '-'],
    ['to', fax.dialedNumber],
    ['pages', String(fax.pages)],
    ['status', statusName(fax.status)],
    ['mailbox', fax.mailbox ? `${fax.mailbox}${fax.viaFallback ? ' (fallback)' : ''}` : '-'],
    ['handled', fax.handledAt ? `${fax.handledAt.toISOString()} by ${fax.handledBy}` : 'no'],
    ...fax.reasons.map((reason): [string, string] => ['reason', reason]),
  ];
  return rows.map(([key, value]) => `${key.padEnd(9)}${value}`).join('\n');
}

/** `sb fax list|get|routes`: the fax inbox over the Fax gRPC API (`SB_FAX_ADDR`, default 127.0.0.1:50053). */
export function registerFaxCommand(program: Command, io: FaxCommandIo = processIo): void {
  const fax = program.command('fax').description('received faxes (Fax API at SB_FAX_ADDR)');

  fax
    .command('list')
    .description('list the fax inbox, newest first')
    .requiredOption('--tenant <id>', 'tenant whose inbox to list')
    .option('--json', 'print JSON')
    .option('--open', 'only faxes not marked handled')
    .action(async (options: { tenant: string; json?: boolean; open?: boolean }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const faxes: faxServiceV1.Fax[] = [];
        let pageToken = '';
        do {
          const page = await unary<faxServiceV1.ListFaxesRequest, faxServiceV1.ListFaxesResponse>(
            connection,
            connection.client.listFaxes,
            {
              tenantId: options.tenant,
              pageSize: 200,
              pageToken,
              unhandledOnly: options.open ?? false,
              departmentId: '',
            },
          );
          faxes.push(...page.faxes);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (options.json) {
          io.write(
            `${JSON.stringify(
              faxes.map((entry) => faxServiceV1.Fax.toJSON(entry)),
              null,
              2,
            )}\n`,
          );
          return;
        }
        io.write(`ID\tRECEIVED\tFROM\tTO\tPAGES\tSTATUS\tHANDLED\n`);
        for (const entry of faxes) io.write(`${faxLine(entry)}\n`);
      });
    });

  fax
    .command('get')
    .description('show one fax; --out saves its PDF')
    .requiredOption('--tenant <id>', 'tenant the fax belongs to')
    .argument('<id>', 'fax id')
    .option('--out <file>', 'write the PDF to this file')
    .option('--json', 'print JSON')
    .action(async (faxId: string, options: { tenant: string; out?: string; json?: boolean }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const { fax: found } = await unary<faxServiceV1.GetFaxRequest, faxServiceV1.GetFaxResponse>(
          connection,
          connection.client.getFax,
          { tenantId: options.tenant, faxId },
        );
        if (!found) throw new Error(`fax ${faxId} not found`);
        io.write(
          options.json ? `${JSON.stringify(faxServiceV1.Fax.toJSON(found), null, 2)}\n` : `${faxDetails(found)}\n`,
        );
        if (options.out) {
          const pdf = await downloadPdf(connection, options.tenant, faxId);
          await writeFile(options.out, pdf);
          if (!options.json) io.write(`saved ${pdf.length} bytes to ${options.out}\n`);
        }
      });
    });

  fax
    .command('routes')
    .description('where faxes to each fax number go, as the fax service has the directory (change them there)')
    .requiredOption('--tenant <id>', 'tenant whose fax numbers to list')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; json?: boolean }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const { routes } = await unary<faxServiceV1.ListFaxRoutesRequest, faxServiceV1.ListFaxRoutesResponse>(
          connection,
          connection.client.listFaxRoutes,
          { tenantId: options.tenant },
        );
        if (options.json) {
          io.write(
            `${JSON.stringify(
              routes.map((route) => faxServiceV1.FaxRoute.toJSON(route)),
              null,
              2,
            )}\n`,
          );
          return;
        }
        io.write('NUMBER\tDEPARTMENT\tMAILBOX\n');
        for (const route of routes) {
          io.write(`${route.faxNumber}\t${route.departmentId}\t${route.mailbox || '(fallback mailbox)'}\n`);
        }
      });
    });
}
