import { Command } from 'commander';
import { registerFaxCommand } from './commands/fax.js';
import { registerPresenceCommand } from './commands/presence.js';
import { registerTokenCommand } from './commands/token.js';

/** The `sb` operator CLI; each domain registers its commands from `commands/<domain>.ts`. */
export function createProgram(): Command {
  const program = new Command('sb').description('Switchboard operator CLI').showHelpAfterError();
  registerTokenCommand(program);
  registerFaxCommand(program);
  registerPresenceCommand(program);
  return program;
}
