import { auditV1, directoryServiceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { unary, withApi } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50054';
const ZONE = 'Europe/Berlin';
/** Characters of the summary shown in the table; `--json` has it whole. */
const SUMMARY_WIDTH = 80;
const PAGE_SIZE = 1_000;

export interface AuditCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: AuditCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

/** A date or time as an administrator types it: without a zone it is Berlin's clock. */
export function parseInstant(option: string, value: string): Date {
  const parsed = DateTime.fromISO(value, { zone: ZONE });
  if (!parsed.isValid) {
    throw new Error(
      `${option}: "${value}" is not a date or time (e.g. 2026-03-01, 2026-03-01T08:30 in Europe/Berlin, or with Z or an offset)`,
    );
  }
  return parsed.toJSDate();
}

/** `2026-03-02 10:15:00`, Berlin's clock. */
export function berlinTime(at: Date | undefined): string {
  return at ? DateTime.fromJSDate(at, { zone: ZONE }).toFormat('yyyy-MM-dd HH:mm:ss') : '-';
}

/** The summary on one line: without the tenant every row repeats, cut to the column's width. */
export function shortSummary(entry: auditV1.AuditEntry): string {
  const text = entry.summary.replace(`{"tenantId":${JSON.stringify(entry.tenantId)},`, '{').replace(/\s+/g, ' ');
  return text.length > SUMMARY_WIDTH ? `${text.slice(0, SUMMARY_WIDTH - 1)}…` : text;
}

interface ListOptions {
  tenant: string;
  since?: string;
  until?: string;
  service?: string;
  subject?: string;
  limit: string;
  json?: boolean;
}

/** `sb audit list`: the tenant's audit log, kept by the directory (`SB_DIRECTORY_ADDR`). */
export function registerAuditCommand(program: Command, io: AuditCommandIo = processIo): void {
  const audit = program
    .command('audit')
    .description('the audit log: every change made through an admin API (Directory API at SB_DIRECTORY_ADDR)');

  audit
    .command('list')
    .description('list changes, newest first: when (Europe/Berlin), who, role, service, method, what')
    .requiredOption('--tenant <id>', 'tenant whose log to list')
    .option('--since <time>', 'from this date or time on (Europe/Berlin unless it has a zone), e.g. 2026-03-01')
    .option('--until <time>', 'before this date or time, e.g. 2026-03-02T12:00')
    .option('--service <name>', 'only changes made through this service, e.g. directory, rating')
    .option('--subject <who>', "only this caller's changes (the token's subject)")
    .option('--limit <n>', 'at most this many entries, the newest; 0 for all', '100')
    .option('--json', 'print JSON (the whole summary)')
    .action(async (options: ListOptions) => {
      const limit = Number(options.limit);
      if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`--limit: "${options.limit}" is not a count`);
      const since = options.since === undefined ? undefined : parseInstant('--since', options.since);
      const until = options.until === undefined ? undefined : parseInstant('--until', options.until);
      const entries: auditV1.AuditEntry[] = [];
      let more = false;
      await withApi(
        {
          address: io.env['SB_DIRECTORY_ADDR'] || DEFAULT_ADDRESS,
          tenant: options.tenant,
          env: io.env,
          create: (address, credentials) => new directoryServiceV1.DirectoryServiceClient(address, credentials),
        },
        async (connection) => {
          let pageToken = '';
          do {
            const wanted = limit === 0 ? PAGE_SIZE : Math.min(limit - entries.length, PAGE_SIZE);
            const page = await unary<
              directoryServiceV1.ListAuditEntriesRequest,
              directoryServiceV1.ListAuditEntriesResponse
            >(connection, connection.client.listAuditEntries, {
              tenantId: options.tenant,
              since,
              until,
              service: options.service ?? '',
              subject: options.subject ?? '',
              pageSize: wanted,
              pageToken,
            });
            entries.push(...page.entries);
            pageToken = page.nextPageToken;
          } while (pageToken && (limit === 0 || entries.length < limit));
          more = pageToken !== '';
        },
      );
      if (options.json) {
        io.write(
          `${JSON.stringify(
            entries.map((entry) => auditV1.AuditEntry.toJSON(entry)),
            null,
            2,
          )}\n`,
        );
        return;
      }
      const rows = [
        ['TIME', 'WHO', 'ROLE', 'SERVICE', 'METHOD', 'SUMMARY'],
        ...entries.map((entry) => [
          berlinTime(entry.at),
          entry.subject,
          entry.role,
          entry.service,
          entry.method,
          shortSummary(entry),
        ]),
      ];
      io.write(rows.map((row) => `${row.join('\t')}\n`).join(''));
      if (more) io.write(`(the newest ${entries.length}; older ones with --limit 0 or --until)\n`);
    });
}
