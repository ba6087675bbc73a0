// Legs rated per second: in-process (classify + price + bundle share) and end to end
// (JetStream → rating → MongoDB-wire store → CdrRated published). Usage:
//   pnpm bench:rating [--calls N] [--tenants N] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { callV1 } from '@switchboard/proto';
import { generateMonth } from '../test/generate-month.js';
import { startHarness } from '../test/harness.js';
import { billableLegs } from '../src/legs.js';
import { priceLeg, shareOf } from '../src/rate-leg.js';
import { DEFAULT_TARIFF } from '../src/tariff.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    tenants: { type: 'string', default: '10' },
    'in-process-calls': { type: 'string', default: '50000' },
    json: { type: 'string' },
  },
});
const calls = Number(values.calls);
const tenants = Number(values.tenants);

function monthOf(tenant: number, count: number): callV1.CallEnded[] {
  return generateMonth({ tenantId: `t-bench-${tenant}`, month: '2026-03', calls: count, sites: 47, seed: tenant + 1 });
}

// In-process: the pure rating work per leg, no I/O.
const inProcessEvents = monthOf(0, Number(values['in-process-calls']));
let inProcessLegs = 0;
const t0 = performance.now();
let available = 60_000;
for (const event of inProcessEvents) {
  for (const source of billableLegs('t-bench-0', event)) {
    const priced = priceLeg(source, DEFAULT_TARIFF);
    available -= shareOf(priced, available).bundleSeconds;
    inProcessLegs++;
  }
}
const inProcessSeconds = (performance.now() - t0) / 1000;

// End to end against real servers (nats-server; FerretDB here, MongoDB where Docker is available).
const harness = await startHarness('rating-bench');
const events = Array.from({ length: tenants }, (_, tenant) => monthOf(tenant, Math.ceil(calls / tenants))).flat();
const legs = events.reduce((sum, event) => sum + billableLegs(event.meta!.tenantId, event).length, 0);
const t1 = performance.now();
await harness.publishCalls(events);
await harness.settled(600_000);
const endToEndSeconds = (performance.now() - t1) / 1000;
const stored = await harness.db.collection('rating_legs').countDocuments({});
const flavour = harness.flavour;
await harness.stop();

const result = {
  inProcess: {
    legs: inProcessLegs,
    seconds: inProcessSeconds,
    legsPerSecond: Math.round(inProcessLegs / inProcessSeconds),
  },
  endToEnd: {
    calls: events.length,
    tenants,
    legs,
    stored,
    seconds: endToEndSeconds,
    legsPerSecond: Math.round(legs / endToEndSeconds),
    store: flavour,
  },
};
process.stdout.write(
  `in-process: ${result.inProcess.legsPerSecond} legs/s (${inProcessLegs} legs)\n` +
    `end to end: ${result.endToEnd.legsPerSecond} legs/s (${legs} legs of ${events.length} calls, ${tenants} tenants, ${endToEndSeconds.toFixed(1)} s, ${flavour})\n`,
);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
