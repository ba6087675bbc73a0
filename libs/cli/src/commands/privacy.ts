import { directoryServiceV1 } from '@switchboard/proto';
import type { Command } from 'commander';
import { unary, withApi } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50054';

export interface PrivacyCommandIo {
  env: NodeJS.ProcessEnv;
  write(text: string): void;
}

const processIo: PrivacyCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

/** What an erase changed, one row per service and kind of record. */
export function formatErase(response: directoryServiceV1.EraseNumberResponse): string {
  const rows = [
    ['SERVICE', 'KIND', 'CHANGED'],
    ...response.changes.map((change) => [change.service, change.kind, change.count]),
  ];
  const total = response.changes.reduce((sum, change) => sum + BigInt(change.count), 0n);
  return (
    `${response.number} is now stored as ${response.shortened} everywhere (${total} records changed)\n` +
    rows.map((row) => `${row.join('\t')}\n`).join('')
  );
}

/** `sb privacy erase`: a citizen's right to erasure, through the directory (`SB_DIRECTORY_ADDR`). */
export function registerPrivacyCommand(program: Command, io: PrivacyCommandIo = processIo): void {
  const privacy = program
    .command('privacy')
    .description("data protection: citizens' numbers (Directory API at SB_DIRECTORY_ADDR)");

  privacy
    .command('erase')
    .description(
      'shorten a number (last three digits → xxx) everywhere the tenant stores it: rated and billed legs, ' +
        'callbacks and call state, faxes and voicemails; safe to repeat',
    )
    .requiredOption('--tenant <id>', 'tenant whose records to change')
    .requiredOption('--number <number>', "the citizen's number, +49… (or 0… for a German number)")
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; number: string; json?: boolean }) => {
      const response = await withApi(
        {
          address: io.env['SB_DIRECTORY_ADDR'] || DEFAULT_ADDRESS,
          tenant: options.tenant,
          env: io.env,
          create: (address, credentials) => new directoryServiceV1.DirectoryServiceClient(address, credentials),
        },
        (connection) =>
          unary<directoryServiceV1.EraseNumberRequest, directoryServiceV1.EraseNumberResponse>(
            connection,
            connection.client.eraseNumber,
            { tenantId: options.tenant, number: options.number },
          ),
      );
      io.write(
        options.json
          ? `${JSON.stringify(directoryServiceV1.EraseNumberResponse.toJSON(response), null, 2)}\n`
          : formatErase(response),
      );
    });
}
