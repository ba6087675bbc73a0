import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { connect } from '@nats-io/transport-node';
import { callV1 } from '@switchboard/proto';
import { DEFAULT_MENUS_FILE, startStack, readTenant, DEFAULT_TENANT_FILE } from '@switchboard/stack';
import { Simulation } from './simulation.js';
import { CallTracker } from './tracker.js';
import { topicsFromMenus } from './topics.js';
import { renderLive, renderSummary } from './view.js';

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

const program = new Command('demo')
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
  .parse();

const options = program.opts<Options>();
const tenant = await readTenant(DEFAULT_TENANT_FILE, true);
const topics = await topicsFromMenus(DEFAULT_MENUS_FILE, 'main-menu');
const departments = tenant.document.departments.map((department) => department.departmentId);
const interactive = process.stdout.isTTY && options.calls === undefined;

process.stdout.write('starting NATS, FerretDB, ari-sim and every service (about half a minute) …\n');
const stack = await startStack({
  alwaysOpen: true,
  ariSim: { timeScale: options.timeScale },
  handleSignals: false,
  ...(options.logDir ? { logDir: options.logDir } : {}),
});
process.stdout.write(`services up; logs in ${stack.logDir}\n`);

const tracker = new CallTracker();
const simulation = new Simulation({
  sim: stack.ariSim,
  tracker,
  tenant: tenant.document,
  topics,
  seed: options.seed,
  rate: options.rate,
  calls: options.calls,
  timeScale: options.timeScale,
});
for (const person of tenant.document.staff) {
  for (const device of person.devices) stack.ariSim.setEndpoint(`PJSIP/${device}`, simulation.nextPhoneBehaviour());
  if (person.homeOfficeNumber) {
    stack.ariSim.setEndpoint(`PJSIP/${person.homeOfficeNumber}@trunk`, simulation.nextPhoneBehaviour());
  }
}

// Every figure comes from the adapter's call events (a plain subscription: the demo only watches).
const nats = await connect({ servers: stack.natsUrl, name: 'demo' });
const events = nats.subscribe(`sb.${stack.tenantId}.call.>`, {
  callback: (error, message) => {
    if (error) return;
    const event = message.subject.slice(message.subject.lastIndexOf('.') + 1);
    try {
      if (event === 'started') tracker.started(callV1.CallStarted.decode(message.data));
      else if (event === 'dtmf_received') tracker.dtmf(callV1.CallDtmfReceived.decode(message.data));
      else if (event === 'leg_updated') {
        const update = callV1.CallLegUpdated.decode(message.data);
        tracker.legUpdated(update);
        simulation.legUpdated(update);
      } else if (event === 'ended') tracker.ended(callV1.CallEnded.decode(message.data));
    } catch (decodeError) {
      process.stderr.write(`undecodable ${message.subject}: ${(decodeError as Error).message}\n`);
    }
  },
});

const startedAt = Date.now();
const draw = () => {
  const view = tracker.view();
  if (interactive) {
    process.stdout.write(
      `\x1b[H\x1b[2J${renderLive(view, Date.now() - startedAt, simulation.placedCalls, departments)}\n`,
    );
  } else {
    process.stdout.write(
      `${Math.round((Date.now() - startedAt) / 1_000)} s: placed ${simulation.placedCalls}, in progress ${view.inProgress}, answered ${view.answered}, abandoned ${view.abandoned}, busy ${view.busy}\n`,
    );
  }
};
const screen = setInterval(draw, interactive ? 1_000 : 5_000);
simulation.start();

let finishing: Promise<void> | undefined;
const finish = (reason: string) => {
  finishing ??= (async () => {
    clearInterval(screen);
    simulation.stop();
    const summary = tracker.summary();
    process.stdout.write(`\n${reason}\n${renderSummary(summary)}\n`);
    if (options.json) {
      await writeFile(options.json, `${JSON.stringify(summary, null, 2)}\n`);
      process.stdout.write(`summary written to ${options.json}\n`);
    }
    events.unsubscribe();
    await nats.close();
    process.stdout.write('stopping every service …\n');
    await stack.stop();
    // A bounded run fails when a caller heard busy or calls did not end in time.
    const failed = options.calls !== undefined && (summary.busy > 0 || summary.unfinished > 0);
    process.exit(failed ? 1 : 0);
  })();
};
process.once('SIGINT', () => finish('interrupted'));
process.once('SIGTERM', () => finish('terminated'));

if (options.calls !== undefined) {
  const total = options.calls;
  const deadline = Date.now() + options.timeoutS * 1_000;
  const check = setInterval(() => {
    if (tracker.endedCount >= total && simulation.placedCalls >= total) {
      clearInterval(check);
      finish(`all ${total} calls ended`);
    } else if (Date.now() > deadline) {
      clearInterval(check);
      finish(`gave up after ${options.timeoutS} s with calls still in progress`);
    }
  }, 250);
}
