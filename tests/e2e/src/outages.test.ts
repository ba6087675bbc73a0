// What a NATS restart and a FerretDB outage mean for calls in progress (libs/stack: every service
// on the call path as its own process, ari-sim, NATS and FerretDB restarted under them). Defined
// in service-kit's README ("Outages") and rating's ("Outages"): services reconnect on their own,
// calls in progress continue or end cleanly, every ended call has one call.ended, and every
// billable leg of it is rated exactly once and stored by billing once — none lost while a server
// was away, none twice. The FerretDB outage here is 12 s (longer than the driver's 10 s server
// selection, so writes fail); the chaos run's 30 s takes the same path (run once with 30 s: passed).
import * as grpc from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { DLQ_STREAM } from '@switchboard/events';
import { billingV1 } from '@switchboard/proto';
import { billableLegKeys, storedLegKeys } from '@switchboard/rating/testing';
import { connectNats, connectMongo, createLogger, type MongoHandle, type NatsHandle } from '@switchboard/service-kit';
import { followEvents, startStack, type EventLog, type Stack } from '@switchboard/stack';
import { eventually } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN_NUMBER = '+494624720';
/** Main-menu keys that lead straight to a department (each has its own staff). */
const DEPARTMENT_KEYS = ['1', '3', '4', '5', '6', '7', '8'];

let stack: Stack;
let events: EventLog;
let mongo: MongoHandle;
const placed: string[] = [];
let callerNumber = 0;

beforeAll(async () => {
  stack = await startStack({
    services: ['directory', 'ivr', 'presence', 'rating', 'billing', 'ari-adapter', 'routing'],
    alwaysOpen: true,
    // Agents answer after 1 s and stay on the line until the test hangs the caller up.
    phoneBehavior: { answerAfterMs: 1_000 },
    handleSignals: false,
    // Seven services starting at once on two shared cores.
    readyTimeoutMs: 120_000,
  });
  events = await followEvents(stack);
  mongo = await connectMongo({ url: stack.mongoUrl, dbName: 'rating', appName: 'e2e-outages' });
}, 480_000);

afterAll(async () => {
  await events?.close();
  await mongo?.close();
  await stack?.stop();
});

/** A caller choosing a department in the main menu; the call stays up until `hangUp`. */
function placeCall(key: string): string {
  callerNumber += 1;
  const channelId = stack.ariSim.placeCall({
    from: `+49461${String(5_550_000 + callerNumber)}`,
    to: MAIN_NUMBER,
    script: [{ atMs: 500, dtmf: key }],
  });
  placed.push(channelId);
  return channelId;
}

const bridged = (channelId: string) => (stack.ariSim.getCall(channelId)?.bridgedWith.length ?? 0) > 0;
const hungUp = (channelId: string) => stack.ariSim.getCall(channelId)?.endedAt !== undefined;

/** The call.ended events whose caller leg is one of these channels. */
function endedFor(channels: readonly string[]) {
  return events.ended().filter((event) => event.legs.some((leg) => channels.includes(leg.channelId)));
}

async function readiness(name: string): Promise<Array<{ status: number; checks: Record<string, boolean> }>> {
  return Promise.all(
    stack.services
      .filter((service) => service.name === name)
      .map(async (service) => {
        const response = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`);
        const body = (await response.json()) as { checks: Record<string, boolean> };
        return { status: response.status, checks: body.checks };
      }),
  );
}

async function everyServiceReady(): Promise<void> {
  for (const target of stack.metricsTargets()) {
    await eventually(
      async () => ((await fetch(`http://${target}/readyz`)).status === 200 ? true : undefined),
      `${target} ready again`,
    );
  }
}

/**
 * Every placed call ended exactly once, and rating's chains hold each billable leg of those calls
 * exactly once (waits for rating to catch up, then compares).
 */
async function expectEveryCallEndedAndRatedOnce(): Promise<void> {
  await eventually(() => (placed.every(hungUp) ? true : undefined), 'every placed call hung up');
  const ended = await events.waitUntil(
    'a call.ended for every placed call',
    () => {
      const found = endedFor(placed);
      return (
        placed.every((channel) => found.some((event) => event.legs.some((leg) => leg.channelId === channel))) && found
      );
    },
    90_000,
  );
  const callIds = ended.map((event) => event.callId);
  expect(new Set(callIds).size).toBe(callIds.length);
  expect(callIds).toHaveLength(placed.length);
  const billable = billableLegKeys(stack.tenantId, ended).sort();
  expect(billable.length).toBeGreaterThanOrEqual(placed.length);
  const stored = await eventually(
    async () => {
      const keys = (await storedLegKeys(mongo.db, stack.tenantId)).filter((key) =>
        callIds.includes(key.split('\t')[0]!),
      );
      return billable.every((key) => keys.includes(key)) ? keys : undefined;
    },
    'rating to store every billable leg',
    120_000,
  );
  expect(stored.sort()).toEqual(billable);
  // Billing stored each rated leg once too (its CDR export of the legs' months).
  const months = [...new Set(events.rated().map((leg) => leg.billingMonth))];
  const billed = await eventually(
    async () => {
      const keys = (await Promise.all(months.map(exportedLegKeys)))
        .flat()
        .filter((key) => callIds.includes(key.split('\t')[0]!));
      return keys.length >= billable.length ? keys : undefined;
    },
    'billing to store every rated leg',
    120_000,
  );
  expect(billed.sort()).toEqual(billable);
}

/** `<call>\t<leg>` of every leg billing exports for the month. */
async function exportedLegKeys(month: string): Promise<string[]> {
  const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await stack.token()}`);
  const keys: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = client.exportRatedLegs({ tenantId: stack.tenantId, month }, metadata);
      stream.on('data', (response: billingV1.ExportRatedLegsResponse) => {
        if (response.leg) keys.push(`${response.leg.callId}\t${response.leg.legId}`);
      });
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
  } finally {
    client.close();
  }
  return keys;
}

/** Call-ended deliveries rating handed back for redelivery (nak), from its /metrics. */
async function ratingRetries(): Promise<number> {
  const rating = stack.services.find((service) => service.name === 'rating')!;
  const text = await (await fetch(`http://127.0.0.1:${rating.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((candidate) => /^events_processed_total\{.*consumer="rating-call-ended".*outcome="retried"/.test(candidate));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function parkedByRating(): Promise<number> {
  const tester: NatsHandle = await connectNats({
    url: stack.natsUrl,
    credentials: stack.natsCredentials('tester'),
    name: 'e2e-outages',
    logger: createLogger({ service: 'e2e-outages', level: 'silent' }),
  });
  try {
    const info = await (
      await jetstreamManager(tester.connection)
    ).streams.info(DLQ_STREAM.name, {
      subjects_filter: 'sb.*.dlq.rating-call-ended',
    });
    return Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
  } finally {
    await tester.connection.close();
  }
}

describe('outages under calls', () => {
  it('NATS restarted during calls: services reconnect, calls end cleanly and every leg is rated once', async () => {
    const talking = DEPARTMENT_KEYS.slice(0, 3).map(placeCall);
    await eventually(() => (talking.every(bridged) ? true : undefined), 'the first calls answered');

    // Down longer than a JetStream publish's timeout (5 s), so what is published meanwhile must be retried.
    const restarted = stack.restartNats({ downMs: 6_000 });
    await eventually(
      async () =>
        (await readiness('rating')).every((replica) => replica.status === 503 && !replica.checks['nats'])
          ? true
          : undefined,
      'rating to report NATS down',
    );
    // Callers who arrive while NATS is away: the adapter's call.started goes out once it is back,
    // and they are answered then.
    const duringOutage = DEPARTMENT_KEYS.slice(3, 5).map(placeCall);
    await restarted;

    // The calls up during the restart are still up and end now, after it.
    expect(talking.filter(hungUp)).toEqual([]);
    for (const channel of talking) stack.ariSim.hangupCall(channel);
    await everyServiceReady();
    await eventually(
      () => (duringOutage.every(bridged) ? true : undefined),
      'the calls placed during the outage answered',
    );
    const after = DEPARTMENT_KEYS.slice(5, 7).map(placeCall);
    await eventually(() => (after.every(bridged) ? true : undefined), 'calls after the restart answered');
    for (const channel of [...after, ...duringOutage]) stack.ariSim.hangupCall(channel);

    await expectEveryCallEndedAndRatedOnce();
    expect(await parkedByRating()).toBe(0);
  }, 240_000);

  it('FerretDB away during calls: rating reports it, backs off, and rates every leg once afterwards', async () => {
    const talking = DEPARTMENT_KEYS.slice(0, 3).map(placeCall);
    await eventually(() => (talking.every(bridged) ? true : undefined), 'calls answered');

    const retriedBefore = await ratingRetries();
    // Longer than the driver's server selection timeout (10 s), so rating's writes fail rather than
    // wait. Rating retries them in place without using up a delivery (no nak: `retried` stays as it
    // was), so the outcome is the same for a 30 s outage or a longer one.
    const restarted = stack.restartMongo({ downMs: 12_000 });
    await eventually(
      async () =>
        (await readiness('rating')).every((replica) => replica.status === 503 && !replica.checks['mongo'])
          ? true
          : undefined,
      'rating to report Mongo down',
    );
    // These calls end while rating cannot store them.
    for (const channel of talking) stack.ariSim.hangupCall(channel);
    await restarted;

    await everyServiceReady();
    await expectEveryCallEndedAndRatedOnce();
    expect(await parkedByRating()).toBe(0);
    expect(await ratingRetries()).toBe(retriedBefore);
  }, 240_000);
});
