#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { type DelaySpec } from './random.js';
import { startAriSim } from './server.js';

const number = (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('not a non-negative number');
  return parsed;
};

/** `5` (fixed) or `1-20` (a range drawn per channel). */
const delay = (value: string): DelaySpec => {
  const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value);
  if (!match?.[1]) throw new InvalidArgumentError('give milliseconds like 5 or a range like 1-20');
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) throw new InvalidArgumentError('the range must not run backwards');
  return match[2] === undefined ? min : [min, max];
};

const program = new Command('ari-sim')
  .description('Asterisk 22 ARI emulator (REST, events WebSocket, /sim control API) on 127.0.0.1')
  .requiredOption('--port <port>', 'port to listen on (0 = any free port)', number)
  .requiredOption('--username <user>', 'ARI user')
  .requiredOption('--password <password>', 'ARI password')
  .option('--app <name>', 'Stasis app for inbound calls that name none', 'switchboard')
  .option('--time-scale <factor>', 'multiply every simulated delay by this', number, 1)
  .option('--spool-dir <dir>', 'where received faxes are written (default: a temp directory)')
  .option('--channel-vars <names>', 'comma-separated variables to include in channel snapshots')
  .option(
    '--stasis-entry-delay <ms>',
    'wall-clock ms until a created channel enters Stasis: 5, or a range 1-20 (the default)',
    delay,
  )
  .option('--seed <n>', 'seed of the generator behind randomised delays', number)
  .option(
    '--stasis-hold <seconds>',
    "how long a call waits, ringing, for its Stasis app when none is connected (the dialplan's STASIS_HOLD_SECONDS)",
    number,
    60,
  )
  .parse();

const opts = program.opts<{
  port: number;
  username: string;
  password: string;
  app: string;
  timeScale: number;
  spoolDir?: string;
  channelVars?: string;
  stasisEntryDelay?: DelaySpec;
  seed?: number;
  stasisHold: number;
}>();

const sim = await startAriSim({
  port: opts.port,
  username: opts.username,
  password: opts.password,
  app: opts.app,
  timeScale: opts.timeScale,
  stasisHoldSeconds: opts.stasisHold,
  ...(opts.spoolDir ? { spoolDir: opts.spoolDir } : {}),
  ...(opts.channelVars ? { channelVars: opts.channelVars.split(',') } : {}),
  ...(opts.stasisEntryDelay === undefined ? {} : { stasisEntryDelayMs: opts.stasisEntryDelay }),
  ...(opts.seed === undefined ? {} : { seed: opts.seed }),
});
process.stdout.write(`ari-sim listening on ${sim.url}\n`);

const shutdown = () => {
  void sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
