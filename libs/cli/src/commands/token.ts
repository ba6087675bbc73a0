import type { Command } from 'commander';
import { bearerToken } from '../credentials.js';

/** `sb token --tenant T [--role R]`: prints a bearer token, e.g. for grpcurl. */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('print a bearer token for the gRPC APIs (minted from AUTH_JWT_SECRET)')
    .requiredOption('--tenant <id>', 'tenant the token is for')
    .option('--role <role>', 'admin, agent, operator or service', 'operator')
    .action(async (options: { tenant: string; role: string }) => {
      process.stdout.write(
        `${await bearerToken({ tenant: options.tenant, role: options.role }, { ...process.env, SB_TOKEN: '' })}\n`,
      );
    });
}
