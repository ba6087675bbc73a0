// What rating's data protection costs: one tenant's month of generated calls is rated (rating in
// process, NATS, the MongoDB-wire store), then timed: the retention sweep that shortens every leg
// of the month, the same sweep again (nothing due: what every later hour costs), and an erase of
// one number (reads every page of the tenant). Usage:
//   pnpm bench:privacy [--calls 20000] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { directoryRpcClient, privacyEraseClient } from '@switchboard/rpc-clients';
import { createLogger } from '@switchboard/service-kit';
import { generateMonth } from '../test/generate-month.js';
import { startHarness } from '../test/harness.js';
import { billableLegs } from '../src/legs.js';
import { RatingPrivacy } from '../src/privacy.js';
import { openStore } from '../src/store.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '20000' }, json: { type: 'string' } },
});
const calls = Number(values.calls);
const tenantId = 't-bench-privacy';

const h = await startHarness('rating_privacy_bench');
try {
  const events = generateMonth({ tenantId, month: '2026-01', calls, sites: 47, seed: 11 });
  const legs = events.reduce((sum, event) => sum + billableLegs(tenantId, event).length, 0);
  await h.publishCalls(events);
  await h.settled(900_000);
  const store = openStore(h.db);
  const pages = await store.pages.countDocuments({ tenantId });
  const privacy = new RatingPrivacy(
    store,
    directoryRpcClient(h.nats),
    createLogger({ service: 'bench', level: 'silent' }),
  );
  // The default 90 days after the month: every leg is due.
  const now = new Date('2026-06-01T00:00:00Z');
  const load = loadavg()[0]!;

  const t0 = performance.now();
  const shortened = await privacy.sweep(now);
  const sweepSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const again = await privacy.sweep(now);
  const idleSweepSeconds = (performance.now() - t1) / 1000;

  // A number still whole: an inbound caller of the next month's calls (not due yet).
  // Call and event ids of their own: generateMonth numbers every month's calls from 0.
  const may = generateMonth({ tenantId, month: '2026-05', calls: 200, sites: 47, seed: 12 }).map((event) => ({
    ...event,
    callId: `may-${event.callId}`,
    meta: { ...event.meta!, eventId: `may-${event.meta!.eventId}` },
  }));
  const caller = may.flatMap((event) => billableLegs(tenantId, event)).find((leg) => leg.role === 'inbound')!.number;
  await h.publishCalls(may);
  await h.settled(900_000);
  const t2 = performance.now();
  const erased = await privacyEraseClient(h.nats, 'rating', 600_000).eraseNumber({ tenantId, number: caller });
  const eraseSeconds = (performance.now() - t2) / 1000;

  const result = {
    calls,
    legs,
    pages,
    store: h.flavour,
    loadAverageAtStart: Number(load.toFixed(2)),
    sweep: { shortened, seconds: sweepSeconds, legsPerSecond: Math.round(shortened / sweepSeconds) },
    idleSweep: { shortened: again, seconds: idleSweepSeconds },
    erase: { changed: Number(erased.changes[0]?.count ?? 0), seconds: eraseSeconds },
  };
  process.stdout.write(
    `retention sweep: ${shortened} of ${legs} legs shortened in ${sweepSeconds.toFixed(2)} s ` +
      `(${result.sweep.legsPerSecond} legs/s, ${pages} pages, ${h.flavour}, load average ${load.toFixed(2)})\n` +
      `sweep with nothing due: ${idleSweepSeconds.toFixed(3)} s\n` +
      `erase of one number across ${pages} + the next month's pages: ${eraseSeconds.toFixed(2)} s ` +
      `(${result.erase.changed} legs)\n`,
  );
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await h.stop();
}
