// Legs rated per second: in-process (classify + price + bundle share, no I/O) and end to end
// (JetStream → the rating service as its own process → MongoDB-wire store → CdrRated published
// and acknowledged by JetStream). Usage:
//   pnpm bench:rating [--calls 60000] [--tenants 20] [--batch 1000] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { callV1 } from '@switchboard/proto';
import { connectNats, createLogger } from '@switchboard/service-kit';
import { startMongo, startNats, TESTER, testTokens } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { generateMonth } from '../test/generate-month.js';
import { SITES, publishCalls, waitSettled } from '../test/harness.js';
import { serveTestDirectory } from '../src/testing/test-directory.js';
import { spawnRating } from '../test/rating-process.js';
import { billableLegs } from '../src/legs.js';
import { priceLeg, shareOf } from '../src/rate-leg.js';
import { DEFAULT_TARIFF } from '../src/tariff.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '60000' },
    tenants: { type: 'string', default: '20' },
    batch: { type: 'string', default: '1000' },
    'in-process-calls': { type: 'string', default: '50000' },
    json: { type: 'string' },
    /** Writes a CPU profile of the rating process into this folder. */
    'cpu-prof': { type: 'string' },
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

// End to end against real servers (nats-server; FerretDB here, MongoDB where Docker is available),
// rating started as the image starts it, the tenants' sites served as the directory serves them.
const natsServer = await startNats();
const mongoServer = await startMongo();
const nats = await connectNats({
  url: natsServer.url,
  credentials: natsServer.credentials(TESTER),
  name: 'rating-bench',
  logger: createLogger({ service: 'rating-bench', level: 'silent' }),
});
const directory = serveTestDirectory(nats, createLogger({ service: 'test-directory', level: 'silent' }), SITES);
await nats.connection.flush();
const rating = await spawnRating(
  {
    BIND_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: 'info',
    ...natsServer.env('rating'),
    MONGO_URL: mongoServer.url,
    MONGO_DB: 'rating_bench',
    ...testTokens().env,
    RATING_BATCH_SIZE: values.batch,
    RATING_DIRECTORY_TIMEOUT_MS: '200',
  },
  { nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [] },
);
const mongo = await MongoClient.connect(mongoServer.url);
const events = Array.from({ length: tenants }, (_, tenant) => monthOf(tenant, Math.ceil(calls / tenants)))
  .flat()
  .sort((a, b) => a.endedAt!.getTime() - b.endedAt!.getTime());
const legs = events.reduce((sum, event) => sum + billableLegs(event.meta!.tenantId, event).length, 0);
const load = loadavg()[0]!;
const t1 = performance.now();
await publishCalls(nats, events);
const publishSeconds = (performance.now() - t1) / 1000;
await waitSettled(nats, 900_000);
const endToEndSeconds = (performance.now() - t1) / 1000;
const links = await mongo.db('rating_bench').collection('rating_batches').find({}).project({ legCount: 1 }).toArray();
const stored = links.reduce((sum, link) => sum + (link['legCount'] as number), 0);
const rated = await nats.jsm.streams.info('CDRS', { subjects_filter: 'sb.*.cdr.rated' });
const cdrs = Object.values(rated.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
const flavour = mongoServer.flavour;
await rating.kill('SIGTERM');
directory.stop();
await mongo.close();
await nats.connection.close();
await mongoServer.stop();
await natsServer.stop();

const result = {
  inProcess: {
    legs: inProcessLegs,
    seconds: inProcessSeconds,
    legsPerSecond: Math.round(inProcessLegs / inProcessSeconds),
  },
  endToEnd: {
    calls: events.length,
    tenants,
    batchSize: Number(values.batch),
    legs,
    stored,
    published: cdrs,
    batches: links.length,
    publishSeconds,
    seconds: endToEndSeconds,
    legsPerSecond: Math.round(legs / endToEndSeconds),
    store: flavour,
    loadAverageAtStart: Number(load.toFixed(2)),
  },
};
process.stdout.write(
  `in-process: ${result.inProcess.legsPerSecond} legs/s (${inProcessLegs} legs)\n` +
    `end to end: ${result.endToEnd.legsPerSecond} legs/s (${legs} legs of ${events.length} calls, ${tenants} tenants, ` +
    `${endToEndSeconds.toFixed(1)} s, calls published in ${publishSeconds.toFixed(1)} s, ${links.length} batch documents, ` +
    `${stored} legs stored, ${cdrs} CdrRated, ${flavour}, load average ${load.toFixed(2)})\n`,
);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
