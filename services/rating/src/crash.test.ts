import * as grpc from '@grpc/grpc-js';
import { RatingEvents } from '@switchboard/events';
import { ratingServiceV1, type callV1, type ratingV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveTestDirectory, type TestDirectory } from './testing/test-directory.js';
import { generateMonth } from '../test/generate-month.js';
import { TOKENS, SITES, publishCalls, waitSettled } from '../test/harness.js';
import { spawnRating, type RatingProcess } from '../test/rating-process.js';
import { tariffFor } from '../test/tariffs.js';
import { totalsOf, type ClassTotals } from './chain.js';
import { capacityOf } from './engine.js';
import { billableLegs } from './legs.js';
import { priceLeg, shareOf, tariffDateOf } from './rate-leg.js';
import { tariffInputOf } from './server.js';
import { decodeLegs, openStore, type RatedLegRecord } from './store.js';
import { parseTariffInput, tariffOn } from './tariff.js';

// The rating service as the image runs it (its real main, its own process), killed with SIGKILL
// in the middle of a backlog — between storing a batch and acking it, as the republished-legs
// counter of the second process shows — and started again: every leg rated exactly once, every
// CdrRated copy identical, and each pool drawn exactly as rating the same calls in process does.

const MONTH = '2026-03';
const TENANTS = ['t-kill-a', 't-kill-b'];
const logger = createLogger({ service: 'rating-crash-test', level: 'silent' });
let natsServer: NatsServer;
let mongoServer: MongoServer;
let nats: NatsHandle;
let mongo: MongoClient;
let directory: TestDirectory;
const processes: RatingProcess[] = [];

beforeAll(async () => {
  natsServer = await startNats();
  mongoServer = await startMongo();
  nats = await connectNats({
    url: natsServer.url,
    credentials: natsServer.credentials(TESTER),
    name: 'rating-crash-test',
    logger,
  });
  directory = serveTestDirectory(nats, logger, SITES);
  await nats.connection.flush();
  mongo = await MongoClient.connect(mongoServer.url);
});

afterAll(async () => {
  for (const process of processes) await process.kill('SIGKILL');
  directory?.stop();
  await nats?.connection.close();
  await mongo?.close();
  await mongoServer?.stop();
  await natsServer?.stop();
});

const start = async () => {
  const rating = await spawnRating({
    BIND_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    ...natsServer.env('rating'),
    MONGO_URL: mongoServer.url,
    MONGO_DB: 'rating_crash',
    ...TOKENS.env,
    // Small batches: many of them stored, published and acked while the test waits to kill.
    RATING_BATCH_SIZE: '50',
    RATING_BATCH_WAIT_MS: '0',
    // What the killed process held comes again soon, not after the default 30 s.
    RATING_ACK_WAIT_MS: '2000',
  });
  processes.push(rating);
  return rating;
};

async function rpc<Res>(rating: RatingProcess, method: string, request: object, tenantId: string): Promise<Res> {
  const token = await TOKENS.token({
    subject: 'test',
    tenantId,
    role: 'admin',
  });
  const client = new ratingServiceV1.RatingServiceClient(
    `127.0.0.1:${rating.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  type Unary = (
    request: object,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, response: Res) => void,
  ) => void;
  const call = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  try {
    return await new Promise<Res>((resolve, reject) =>
      call(request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
    );
  } finally {
    client.close();
  }
}

/** Every CdrRated of a tenant in the stream. */
async function published(tenantId: string): Promise<ratingV1.RatedLeg[]> {
  const subject = `sb.${tenantId}.cdr.rated`;
  const info = await nats.jsm.streams.info('CDRS', { subjects_filter: subject });
  const expected = info.state.subjects?.[subject] ?? 0;
  const consumer = await nats.js.consumers.get('CDRS', { filter_subjects: [subject] });
  const legs: ratingV1.RatedLeg[] = [];
  while (legs.length < expected) {
    const batch = await consumer.fetch({ max_messages: Math.min(expected - legs.length, 1000), expires: 5_000 });
    for await (const message of batch) legs.push(RatingEvents.cdrRated.codec.decode(message.data).leg!);
  }
  return legs;
}

const sorted = (totals: readonly ClassTotals[]) =>
  [...totals].sort((a, b) => a.destinationClass.localeCompare(b.destinationClass));

describe('a rating process killed during a run', () => {
  it('rates every leg exactly once after it is started again, the pools as rated in process', async () => {
    const calls = new Map<string, callV1.CallEnded[]>(
      TENANTS.map((tenantId, index) => [
        tenantId,
        generateMonth({ tenantId, month: MONTH, calls: 2600, sites: 47, seed: 100 + index }),
      ]),
    );
    const expectedLegs = [...calls.entries()].reduce(
      (sum, [tenantId, events]) => sum + events.reduce((n, event) => n + billableLegs(tenantId, event).length, 0),
      0,
    );

    const first = await start();
    for (const tenantId of TENANTS) await rpc(first, 'setTariff', { tenantId, tariff: tariffFor(1) }, tenantId);
    // Interleaved as calls end: every batch holds legs of all three tenants.
    const all = [...calls.values()].flat().sort((a, b) => a.endedAt!.getTime() - b.endedAt!.getTime());
    await publishCalls(nats, all);

    // Kill at a moment more legs are stored than published: a batch is written, its legs are being
    // published, its events not acked. Checked again once the process is dead (the stream and the
    // store then hold still); a kill that missed that moment is tried again with a new process.
    const store = openStore(mongo.db('rating_crash'));
    const counts = async () => {
      // Published first: read after it, the stored count can only have grown.
      const rated = await nats.jsm.streams.info('CDRS', { subjects_filter: 'sb.*.cdr.rated' });
      const sent = Object.values(rated.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
      const links = await store.batches.find({}, { projection: { legCount: 1 } }).toArray();
      return { written: links.reduce((sum, link) => sum + link.legCount, 0), sent };
    };
    let running = first;
    let atKill: { written: number; sent: number } | undefined;
    for (let attempt = 0; attempt < 20 && !atKill; attempt++) {
      const from = (await counts()).sent;
      for (;;) {
        const now = await counts();
        if (now.sent >= expectedLegs) throw new Error('rated everything before a kill hit a stored, unacked batch');
        if (now.sent >= from + expectedLegs / 50 && now.written > now.sent) break;
      }
      await running.kill('SIGKILL');
      const dead = await counts();
      if (dead.written > dead.sent) atKill = dead;
      running = await start();
    }
    expect(atKill).toBeDefined();
    const second = running;
    await waitSettled(nats, 240_000);

    // The process after the kill found legs stored but not acked before it, and published them again.
    const metrics = await (await fetch(`http://127.0.0.1:${second.httpPort}/metrics`)).text();
    const republished = Number(/^rating_legs_republished_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(republished).toBeGreaterThan(0);
    const summary = [
      `killed with ${atKill!.written} legs stored, ${atKill!.sent} of ${expectedLegs} published; ${republished} republished after`,
    ];

    for (const [tenantId, events] of calls) {
      // Stored: one chain without gaps, each leg in exactly one link, the pools' ranges following each other.
      const links = (await store.batches.find({ tenantId }).toArray()).sort((a, b) => a.seq - b.seq);
      expect(links.map((link) => link.seq)).toEqual(links.map((_, index) => index + 1));
      const pages = new Map((await store.pages.find({ tenantId }).toArray()).map((page) => [page._id, page]));
      const legs: RatedLegRecord[] = links.flatMap((link) => decodeLegs(pages.get(link.page)!));
      const billable = events.flatMap((event) => billableLegs(tenantId, event));
      expect(legs).toHaveLength(billable.length);
      expect(new Set(legs.map((leg) => `${leg.callId}:${leg.legId}`))).toEqual(
        new Set(billable.map((leg) => `${leg.callId}:${leg.legId}`)),
      );
      for (const pool of ['de-fixed', 'de-mobile'] as const) {
        links.reduce((end, link) => {
          expect(link.pools[pool].from).toBe(end);
          return link.pools[pool].to;
        }, 0);
      }

      // Published: every leg, and every copy of a leg (republished after the kill) the same rating.
      const rated = await published(tenantId);
      const byLeg = new Map<string, string>();
      for (const leg of rated) {
        const key = `${leg.callId}:${leg.legId}`;
        const body = JSON.stringify(leg);
        expect(byLeg.get(key) ?? body).toBe(body);
        byLeg.set(key, body);
      }
      expect(byLeg.size).toBe(billable.length);

      // The same calls rated in process, in the order they were published: the same usage per class.
      const tariffs = [parseTariffInput(tariffInputOf(tariffFor(1)), 1)];
      const drawn = { 'de-fixed': 0, 'de-mobile': 0 };
      const inProcess: RatedLegRecord[] = [];
      for (const source of all
        .filter((event) => event.meta!.tenantId === tenantId)
        .flatMap((event) => billableLegs(tenantId, event))) {
        const priced = priceLeg(source, tariffOn(tariffs, tariffDateOf(source)), new Set(SITES));
        const pool = priced.pool;
        const share = shareOf(priced, pool ? capacityOf(tariffs, MONTH, pool) - drawn[pool] : 0);
        if (pool) drawn[pool] += priced.billedSeconds;
        inProcess.push({ ...priced, ...share, pool: pool ?? '' } as unknown as RatedLegRecord);
      }
      const usage = await rpc<ratingServiceV1.GetUsageResponse>(
        second,
        'getUsage',
        { tenantId, month: MONTH },
        tenantId,
      );
      expect(
        usage.classes.map((entry) => ({
          destinationClass: entry.destinationClass,
          legs: Number(entry.legs),
          billed: Number(entry.billedSeconds),
          bundle: Number(entry.bundleSeconds),
          overage: Number(entry.overageSeconds),
          amount: Number(entry.amount),
        })),
      ).toEqual(sorted(totalsOf(inProcess)).map(({ fees: _fees, ...entry }) => entry));
      for (const pool of usage.pools) {
        const capacity = Number(pool.capacitySeconds);
        const used = drawn[pool.pool as 'de-fixed' | 'de-mobile'];
        // Both pools run out: the leg the bundle ends on, and the overage after it, were rated after the kill.
        expect(used).toBeGreaterThan(capacity);
        expect([Number(pool.usedSeconds), Number(pool.overageSeconds)]).toEqual([used, Math.max(used - capacity, 0)]);
        summary.push(`${tenantId} ${pool.pool} ${used}/${capacity} s`);
      }
    }
    process.stdout.write(`${summary.join('; ')}\n`);
    const dlq = await nats.jsm.streams.info('DLQ');
    expect(dlq.state.messages).toBe(0);
    await second.kill('SIGTERM');
  }, 300_000);
});
