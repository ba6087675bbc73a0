import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './run.js';
import type { Summary } from './summary.js';
import { renderSummary } from './view.js';

const positive = (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
};
const positiveInt = (value: string) => {
  const number = positive(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('must be a whole number');
  return number;
};

interface Options {
  calls?: number;
  rate: number;
  json?: string;
  seed: number;
  timeScale: number;
  logDir?: string;
  timeoutS: number;
}

const options = new Command('demo')
  .description(
    'Start the whole Switchboard locally and simulate citizens calling the Amt Kropp-Stapelholm main number.',
  )
  .option('--calls <n>', 'place this many calls, print a summary and exit (default: run until Ctrl-C)', positiveInt)
  .option('--rate <per-second>', 'new calls per second (Poisson arrivals)', positive, 1)
  .option('--json <file>', 'write the summary as JSON to this file')
  .option('--seed <n>', 'seed of the simulated callers and staff', positiveInt, 42)
  .option('--time-scale <factor>', 'ari-sim speed: 0.5 plays prompts, rings and talk in half the time', positive, 1)
  .option('--log-dir <dir>', 'where the services write their logs (default: a new temp directory)')
  .option('--timeout-s <seconds>', 'a bounded run gives up waiting for calls to end after this', positive, 600)
  .parse()
  .opts<Options>();

const write = (text: string) => void process.stdout.write(text);
let portalLine = '';
write('starting NATS, FerretDB, ari-sim and every service (about half a minute) …\n');
const demo = await runDemo({
  calls: options.calls,
  rate: options.rate,
  seed: options.seed,
  timeScale: options.timeScale,
  timeoutMs: options.timeoutS * 1_000,
  interactive: Boolean(process.stdout.isTTY) && options.calls === undefined,
  ...(options.logDir ? { logDir: options.logDir } : {}),
  onStarted: (stack) => {
    const admin = stack.portal?.accounts.find((account) => account.role === 'admin');
    // Shown above every refresh of the live view too, so the login stays on screen.
    portalLine =
      stack.portal && admin
        ? `portal ${stack.portal.url} — tenant ${admin.tenantId}, user ${admin.username}, password ${admin.password}\n`
        : '';
    write(`services up; logs in ${stack.logDir}\n${portalLine}`);
  },
  onScreen: (text, interactive) => write(interactive ? `\x1b[H\x1b[2J${portalLine}${text}\n` : `${text}\n`),
});

let finishing: Promise<never> | undefined;
const finish = (reason: string) => {
  finishing ??= (async () => {
    write('\nstopping every service …\n');
    const summary: Summary = await demo.stop();
    write(`${reason}\n${renderSummary(summary)}\n`);
    if (options.json) {
      await writeFile(options.json, `${JSON.stringify(summary, null, 2)}\n`);
      write(`summary written to ${options.json}\n`);
    }
    // A bounded run fails when a caller heard busy or calls did not end in time.
    const failed = options.calls !== undefined && (summary.busy > 0 || summary.unfinished > 0);
    process.exit(failed ? 1 : 0);
  })();
  return finishing;
};
process.once('SIGINT', () => void finish('interrupted'));
process.once('SIGTERM', () => void finish('terminated'));
if (options.calls !== undefined) void demo.finished.then(finish);
