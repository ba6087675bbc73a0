// Menu steps evaluated in process, as routing does per key press: `node --import tsx
// libs/ivr-menus/bench/evaluate.ts [--seconds 3] [--json out.json]`. Each simulated call takes the
// three steps of `pnpm bench:ivr` (enter the main menu, "2" into a submenu, "1" to a department) on
// the Amt menus, so the figures compare with one EvaluateStep request over NATS. Also what a new
// snapshot revision costs the mirror (decode and compile), for the Amt menus and a large tenant.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ivrServiceV1 } from '@switchboard/proto';
import { amtMenus, department, menu, submenu } from '../src/testing.js';
import { compileMenuSet, evaluateStep } from '../src/evaluate.js';
import { decodeMenuSnapshot, encodeMenuSnapshot } from '../src/snapshot.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, json: { type: 'string' } } });
const seconds = Number(values.seconds);
const { StepInput, OpenState } = ivrServiceV1;

const steps = [
  { menuId: 'main', input: StepInput.STEP_INPUT_ENTER, digits: '' },
  { menuId: 'main', input: StepInput.STEP_INPUT_DIGITS, digits: '2' },
  { menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '1' },
].map((step) =>
  ivrServiceV1.EvaluateStepRequest.fromPartial({
    tenantId: 't-kropp',
    callId: 'bench',
    openState: OpenState.OPEN_STATE_OPEN,
    ...step,
  }),
);
const set = compileMenuSet(1, amtMenus());

/** Runs `work` in batches for `ms` and returns how often it ran, the wall and the CPU time spent. */
function measure(ms: number, batch: number, work: () => void): { runs: number; wallNs: number; cpuUs: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let runs = 0;
  let now = start;
  while (now < until) {
    for (let i = 0; i < batch; i += 1) work();
    runs += batch;
    now = process.hrtime.bigint();
  }
  const used = process.cpuUsage(cpu);
  return { runs, wallNs: Number(now - start), cpuUs: used.user + used.system };
}

let sink = 0; // what the evaluations return, so the JIT keeps them
const step = (index: number) => {
  sink += evaluateStep(set, steps[index % steps.length]!).retryCount;
};
let next = 0;
measure(1_000, 1_000, () => step(next++)); // warm-up: let the JIT settle
next = 0;
const run = measure(seconds * 1_000, 1_000, () => step(next++));

// Latency of single steps, timed one by one (includes ~0.05 µs of hrtime per sample).
const samples: number[] = [];
for (let i = 0; i < 300_000; i += 1) {
  const start = process.hrtime.bigint();
  step(i);
  samples.push(Number(process.hrtime.bigint() - start) / 1_000);
}
samples.sort((a, b) => a - b);
const percentile = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;

/** A large tenant: 50 menus of 10 options each, chained by submenus. */
function largeTenant(): ivrServiceV1.Menu[] {
  return Array.from({ length: 50 }, (_, index) =>
    menu(
      `menu-${index}`,
      Object.fromEntries(
        Array.from({ length: 10 }, (__, option) => [
          String(option),
          option === 9 && index < 49 ? submenu(`menu-${index + 1}`) : department(`dept-${index}-${option}`),
        ]),
      ),
      { entry: index === 0 },
    ),
  );
}

function revisionCost(menus: ivrServiceV1.Menu[]): { bytes: number; decodeAndCompileUs: number } {
  const value = encodeMenuSnapshot({ tenantId: 't-kropp', revision: 2, publishedAt: new Date(), menus });
  const apply = () => {
    const snapshot = decodeMenuSnapshot(value);
    sink += compileMenuSet(Number(snapshot.revision), snapshot.menus).menus.size;
  };
  measure(300, 10, apply);
  const cost = measure(1_000, 10, apply);
  return { bytes: value.length, decodeAndCompileUs: Number((cost.wallNs / cost.runs / 1_000).toFixed(1)) };
}

const result = {
  seconds,
  steps: run.runs,
  stepsPerSecond: Math.round(run.runs / (run.wallNs / 1e9)),
  wallUsPerStep: Number((run.wallNs / run.runs / 1_000).toFixed(3)),
  cpuUsPerStep: Number((run.cpuUs / run.runs).toFixed(3)),
  p50Us: Number(percentile(50).toFixed(2)),
  p99Us: Number(percentile(99).toFixed(2)),
  newRevision: { amt: revisionCost(amtMenus()), large50x10: revisionCost(largeTenant()) },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
// Read once so the JIT cannot drop the evaluations as unused.
if (sink < 0) process.stdout.write(`${sink}\n`);
