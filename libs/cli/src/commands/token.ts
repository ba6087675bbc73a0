import type { Command } from 'commander';
import { SERVICE_TOKEN_TTL, USER_TOKEN_TTL, describeSeconds } from '@switchboard/tokens';
import { mintToken, parseTtl } from '../credentials.js';

export interface TokenCommandIo {
  env: Record<string, string | undefined>;
  write(text: string): void;
}

const processIo: TokenCommandIo = { env: process.env, write: (text) => void process.stdout.write(text) };

/** `sb token --role R [--tenant T] [--departments a,b] [--subject S] [--ttl D]`: prints a signed bearer token. */
export function registerTokenCommand(program: Command, io: TokenCommandIo = processIo): void {
  program
    .command('token')
    .description('print a bearer token for the gRPC APIs, signed with the key in AUTH_SIGNING_KEY_FILE')
    .requiredOption('--role <role>', 'admin, supervisor, finance, agent, operator or service')
    .option('--tenant <id>', 'tenant the token is for (operator and service tokens: every tenant)')
    .option('--departments <ids>', "a supervisor's departments, comma-separated")
    .option('--subject <name>', 'who the token is for (default $USER; for a service token its service name)')
    .option(
      '--ttl <duration>',
      `lifetime, e.g. 15m, 8h, 90d (default ${describeSeconds(USER_TOKEN_TTL.defaultSeconds)}, at most ` +
        `${describeSeconds(USER_TOKEN_TTL.maxSeconds)}; service tokens ${describeSeconds(SERVICE_TOKEN_TTL.defaultSeconds)}, ` +
        `at most ${describeSeconds(SERVICE_TOKEN_TTL.maxSeconds)})`,
    )
    .action(
      async (options: { role: string; tenant?: string; departments?: string; subject?: string; ttl?: string }) => {
        const token = await mintToken(
          {
            role: options.role,
            tenant: options.tenant,
            subject: options.subject,
            departments: options.departments
              ?.split(',')
              .map((id) => id.trim())
              .filter(Boolean),
            ttlSeconds: options.ttl === undefined ? undefined : parseTtl(options.ttl),
          },
          io.env,
        );
        io.write(`${token}\n`);
      },
    );
}
