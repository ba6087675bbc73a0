#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { startAriSim } from './server.js';

const number = (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('not a non-negative number');
  return parsed;
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
  .parse();

const opts = program.opts<{
  port: number;
  username: string;
  password: string;
  app: string;
  timeScale: number;
  spoolDir?: string;
  channelVars?: string;
}>();

const sim = await startAriSim({
  port: opts.port,
  username: opts.username,
  password: opts.password,
  app: opts.app,
  timeScale: opts.timeScale,
  ...(opts.spoolDir ? { spoolDir: opts.spoolDir } : {}),
  ...(opts.channelVars ? { channelVars: opts.channelVars.split(',') } : {}),
});
process.stdout.write(`ari-sim listening on ${sim.url}\n`);

const shutdown = () => {
  void sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
