import { Command } from 'commander';
import { registerAuditCommand } from './commands/audit.js';
import { registerDirectoryCommands } from './commands/directory.js';
import { registerFaxCommand } from './commands/fax.js';
import { registerRatingCommands } from './commands/rating.js';
import { registerBillingCommands } from './commands/billing.js';
import { registerIvrCommand } from './commands/ivr.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerNumberPoolCommands } from './commands/number-pools.js';
import { registerOutboundCommands } from './commands/outbound.js';
import { registerPresenceCommand } from './commands/presence.js';
import { registerPrivacyCommand } from './commands/privacy.js';
import { registerRoutingCommands } from './commands/routing.js';
import { registerTokenCommand } from './commands/token.js';
import { registerVoicemailCommand } from './commands/voicemail.js';

/** The `sb` operator CLI; each domain registers its commands from `commands/<domain>.ts`. */
export function createProgram(): Command {
  const program = new Command('sb').description('Switchboard operator CLI').showHelpAfterError();
  registerTokenCommand(program);
  registerKeysCommands(program);
  registerFaxCommand(program);
  registerVoicemailCommand(program);
  registerRatingCommands(program);
  registerBillingCommands(program);
  registerIvrCommand(program);
  registerDirectoryCommands(program);
  registerNumberPoolCommands(program);
  registerOutboundCommands(program);
  registerAuditCommand(program);
  registerPresenceCommand(program);
  registerPrivacyCommand(program);
  registerRoutingCommands(program);
  return program;
}
