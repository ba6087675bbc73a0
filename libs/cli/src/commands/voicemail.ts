import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi, type ApiConnection } from '../api-connection.js';
import { faxApi, type FaxCommandIo } from './fax.js';

const processIo: FaxCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

type Connection = ApiConnection<faxServiceV1.FaxServiceClient>;
type Voicemail = faxServiceV1.Voicemail;

function downloadAudio(
  connection: Connection,
  tenantId: string,
  voicemailId: string,
): Promise<{ fileName: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = connection.client.downloadVoicemail({ tenantId, voicemailId }, connection.metadata);
    const chunks: Buffer[] = [];
    let fileName = '';
    stream.on('data', (part: faxServiceV1.DownloadVoicemailResponse) => {
      if (part.fileName) fileName = part.fileName;
      chunks.push(Buffer.from(part.chunk));
    });
    stream.on('error', (error: grpc.ServiceError) => reject(new Error(`${grpc.status[error.code]}: ${error.details}`)));
    stream.on('end', () => resolve({ fileName, bytes: Buffer.concat(chunks) }));
  });
}

const statusName = (status: faxServiceV1.VoicemailStatus) =>
  faxServiceV1.voicemailStatusToJSON(status).replace(/^VOICEMAIL_STATUS_/, '');

const duration = (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;

const toJson = (value: Voicemail | Voicemail[]) =>
  JSON.stringify(
    Array.isArray(value)
      ? value.map((entry) => faxServiceV1.Voicemail.toJSON(entry))
      : faxServiceV1.Voicemail.toJSON(value),
    null,
    2,
  );

function voicemailLine(voicemail: Voicemail): string {
  return [
    voicemail.voicemailId,
    voicemail.receivedAt?.toISOString() ?? '-',
    voicemail.departmentId || '-',
    voicemail.callerNumber || '-',
    voicemail.hasAudio ? duration(voicemail.durationSeconds) : 'none',
    statusName(voicemail.status),
    voicemail.handledAt ? 'handled' : 'open',
  ].join('\t');
}

function voicemailDetails(voicemail: Voicemail): string {
  const rows: Array<[string, string]> = [
    ['id', voicemail.voicemailId],
    ['received', voicemail.receivedAt?.toISOString() ?? '-'],
    ['from', voicemail.callerNumber || '-'],
    ['to', `${voicemail.dialedNumber || '-'} (department ${voicemail.departmentId || '-'})`],
    ['duration', duration(voicemail.durationSeconds)],
    ['audio', voicemail.hasAudio ? `${voicemail.audioBytes} bytes (WAV)` : 'none'],
    ['status', statusName(voicemail.status)],
    ['mailbox', voicemail.mailbox ? `${voicemail.mailbox}${voicemail.viaFallback ? ' (fallback)' : ''}` : '-'],
    ['handled', voicemail.handledAt ? `${voicemail.handledAt.toISOString()} by ${voicemail.handledBy}` : 'no'],
    ...voicemail.reasons.map((reason): [string, string] => ['reason', reason]),
  ];
  return rows.map(([key, value]) => `${key.padEnd(9)}${value}`).join('\n');
}

/** `sb voicemail list|get|download|mark-handled`: the voicemail inbox, served by the fax service (`SB_FAX_ADDR`). */
export function registerVoicemailCommand(program: Command, io: FaxCommandIo = processIo): void {
  const voicemail = program.command('voicemail').description('messages callers left (Fax API at SB_FAX_ADDR)');

  voicemail
    .command('list')
    .description('list the voicemail inbox, newest first')
    .requiredOption('--tenant <id>', 'tenant whose inbox to list')
    .option('--json', 'print JSON')
    .option('--open', 'only voicemails not marked handled')
    .action(async (options: { tenant: string; json?: boolean; open?: boolean }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const voicemails: Voicemail[] = [];
        let pageToken = '';
        do {
          const page = await unary<faxServiceV1.ListVoicemailsRequest, faxServiceV1.ListVoicemailsResponse>(
            connection,
            connection.client.listVoicemails,
            {
              tenantId: options.tenant,
              pageSize: 200,
              pageToken,
              unhandledOnly: options.open ?? false,
              departmentId: '',
            },
          );
          voicemails.push(...page.voicemails);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (options.json) {
          io.write(`${toJson(voicemails)}\n`);
          return;
        }
        io.write('ID\tRECEIVED\tDEPARTMENT\tFROM\tDURATION\tSTATUS\tHANDLED\n');
        for (const entry of voicemails) io.write(`${voicemailLine(entry)}\n`);
      });
    });

  voicemail
    .command('get')
    .description('show one voicemail: caller, department, mailbox, status and its reasons')
    .requiredOption('--tenant <id>', 'tenant the voicemail belongs to')
    .argument('<id>', 'voicemail id')
    .option('--json', 'print JSON')
    .action(async (voicemailId: string, options: { tenant: string; json?: boolean }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const { voicemail: found } = await unary<faxServiceV1.GetVoicemailRequest, faxServiceV1.GetVoicemailResponse>(
          connection,
          connection.client.getVoicemail,
          { tenantId: options.tenant, voicemailId },
        );
        if (!found) throw new Error(`voicemail ${voicemailId} not found`);
        io.write(`${options.json ? toJson(found) : voicemailDetails(found)}\n`);
      });
    });

  voicemail
    .command('download')
    .description("save a voicemail's recording (WAV); without --out under its own name, never over an existing file")
    .requiredOption('--tenant <id>', 'tenant the voicemail belongs to')
    .argument('<id>', 'voicemail id')
    .option('--out <file>', 'write the WAV to this file (replacing it)')
    .action(async (voicemailId: string, options: { tenant: string; out?: string }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const { fileName, bytes } = await downloadAudio(connection, options.tenant, voicemailId);
        // The server names the file; only its base name is used, so it lands in the current directory.
        const target = options.out ?? path.basename(fileName || `voicemail-${voicemailId}.wav`);
        try {
          await writeFile(target, bytes, { flag: options.out ? 'w' : 'wx' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          throw new Error(`${target} exists already; choose a file with --out`, { cause: error });
        }
        io.write(`saved ${bytes.length} bytes to ${target}\n`);
      });
    });

  voicemail
    .command('mark-handled')
    .description('mark a voicemail as handled (someone called back); it leaves `list --open`')
    .requiredOption('--tenant <id>', 'tenant the voicemail belongs to')
    .argument('<id>', 'voicemail id')
    .action(async (voicemailId: string, options: { tenant: string }) => {
      await withApi(faxApi(options.tenant, io), async (connection) => {
        const { voicemail: handled } = await unary<
          faxServiceV1.MarkVoicemailHandledRequest,
          faxServiceV1.MarkVoicemailHandledResponse
        >(connection, connection.client.markVoicemailHandled, { tenantId: options.tenant, voicemailId });
        if (!handled) throw new Error(`voicemail ${voicemailId} not found`);
        io.write(
          `voicemail ${voicemailId} handled at ${handled.handledAt?.toISOString() ?? '-'} by ${handled.handledBy}\n`,
        );
      });
    });
}
