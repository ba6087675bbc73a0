import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_FAULTS, parseFaults } from '../src/chaos/faults.js';
import { runChaos, type ChaosReport } from './chaos/run.js';

// `pnpm chaos`: the whole system with replicas, seeded callers through the demo tenant's IVR, and
// a sequence of faults injected during the load; a summary, a JSON report (one record per call)
// and exit 1 on any loss. See libs/demo/README.md.

const number = (whole: boolean, min: number) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || (whole && !Number.isInteger(parsed))) {
    throw new InvalidArgumentError(`must be a ${whole ? 'whole ' : ''}number ≥ ${min}`);
  }
  return parsed;
};

interface Options {
  calls: number;
  rate: number;
  seed: number;
  timeScale: number;
  faults: string;
  replicas: number;
  wrapUpS: number;
  patienceS: number;
  timeoutS: number;
  settleS: number;
  monthCloseCalls: number;
  billingKillAfterMs: number;
  faxPages: number;
  faxKillAfterMs: number;
  json: string;
  readyTimeoutS: number;
  logDir?: string;
}

const options = new Command('chaos')
  .description('Seeded calls through the demo tenant with several replicas, faults injected during the load.')
  .option('--calls <n>', 'calls to place', number(true, 1), 300)
  .option('--rate <per-second>', 'new calls per second (Poisson arrivals)', number(false, 0.01), 1)
  .option('--seed <n>', 'seed of the callers and staff', number(true, 1), 42)
  .option('--time-scale <factor>', 'ari-sim speed (prompts, key presses, rings, talk)', number(false, 0.01), 0.5)
  .option('--faults <list>', 'fault sequence, e.g. routing:kill@20s,mongo:outage30s@70s ("" for none)', DEFAULT_FAULTS)
  .option('--replicas <n>', 'replicas of routing, presence, rating, ivr and directory', number(true, 1), 2)
  .option('--wrap-up-s <seconds>', "every department's wrap-up at most this", number(true, 0), 5)
  .option('--patience-s <seconds>', 'how long a caller waits for an agent (wall clock)', number(false, 1), 240)
  .option('--timeout-s <seconds>', 'wait this long for the calls to end after the faults', number(false, 1), 300)
  .option('--settle-s <seconds>', 'time rating and billing get to catch up afterwards', number(false, 0), 120)
  .option('--month-close-calls <n>', "last month's calls billing closes during its fault", number(true, 1), 200)
  .option('--billing-kill-after-ms <ms>', 'CloseMonth request → kill of billing', number(true, 0), 300)
  .option('--fax-pages <n>', 'pages of the fax converted during the fax fault', number(true, 1), 8)
  .option('--fax-kill-after-ms <ms>', 'fax.received → kill of the fax service', number(true, 0), 150)
  .option('--json <file>', 'the report (summary, faults, one record per call)', 'chaos.json')
  .option('--ready-timeout-s <seconds>', 'per service process, until it is ready', number(false, 1), 180)
  .option('--log-dir <dir>', 'where the services write their logs (default: a new temp directory)')
  .parse()
  .opts<Options>();

const replicas = {
  routing: options.replicas,
  presence: options.replicas,
  rating: options.replicas,
  ivr: options.replicas,
  directory: options.replicas,
};
let faults;
try {
  faults = parseFaults(options.faults, replicas);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const write = (text: string) => void process.stdout.write(`${text}\n`);

const report: ChaosReport = await runChaos({
  calls: options.calls,
  rate: options.rate,
  seed: options.seed,
  timeScale: options.timeScale,
  faults,
  replicas: options.replicas,
  wrapUpSeconds: options.wrapUpS,
  patienceSeconds: options.patienceS,
  timeoutMs: options.timeoutS * 1_000,
  settleMs: options.settleS * 1_000,
  monthCloseCalls: options.monthCloseCalls,
  billingKillAfterMs: options.billingKillAfterMs,
  faxPages: options.faxPages,
  faxKillAfterMs: options.faxKillAfterMs,
  readyTimeoutMs: options.readyTimeoutS * 1_000,
  ...(options.logDir ? { logDir: options.logDir } : {}),
  onLine: write,
});

const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;
const { classes, legs } = report;
write('');
write(
  `offered ${report.offered}: answered in the chosen department ${classes.answered}, elsewhere ${classes['answered-elsewhere']}, abandoned ${classes.abandoned}, busy ${classes.busy}, other ${classes.other}`,
);
write(`  refused ${classes.refused}, lost ${classes.lost}, stuck ${classes.stuck}, ended twice ${report.endedTwice}`);
write(
  `longest silence per call: p50 ${seconds(report.gaps.p50Ms)}, p95 ${seconds(report.gaps.p95Ms)}, max ${seconds(report.gaps.maxMs)}`,
);
write(
  `legs: billable ${legs.billable}, billed ${legs.rated}, missing ${legs.missing.length}, doubled ${legs.duplicated.length}; rating events ${legs.ratingEvents} (+${legs.ratingRepublished} republished copies)`,
);
write(
  `leaked agents ${report.leakedAgents.length}, leftover queue entries ${report.leftoverEntries.length}, calls routing still holds ${report.routingLiveCalls}`,
);
write(`load average at start ${report.loadAverage.start.join(' ')}, at the end ${report.loadAverage.end.join(' ')}`);
write('faults:');
for (const fault of report.faults) {
  const extra = [
    fault.error ? `FAILED: ${fault.error}` : '',
    fault.monthClose
      ? `invoice ${fault.monthClose.invoiceNumber} after ${fault.monthClose.attempts} close(s), net ${fault.monthClose.netCents} ct`
      : '',
    fault.fax ? `fax mailed ${fault.fax.mails}×${fault.fax.pdf ? ' with PDF' : ''}` : '',
  ].filter(Boolean);
  write(
    `  ${seconds(fault.atMs).padStart(8)}  ${fault.what} (${seconds(fault.tookMs ?? 0)}): ${fault.callsInProgress} calls in progress, longest silence begun around it ${seconds(fault.longestGapMs)}${extra.length ? `; ${extra.join('; ')}` : ''}`,
  );
}
await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
write(`report written to ${options.json}; service logs in ${report.logDir}`);
if (report.losses.length > 0) {
  write('LOSS:');
  for (const loss of report.losses) write(`  - ${loss}`);
  process.exit(1);
}
write('no loss');
process.exit(0);
