import * as grpc from '@grpc/grpc-js';
import { billingService } from '@switchboard/billing';
import { CallEvents } from '@switchboard/events';
import { billingV1, callV1, ratingServiceV1, type ratingV1 } from '@switchboard/proto';
import { ratingService } from '@switchboard/rating/service';
import { serveTestDirectory } from '@switchboard/rating/testing';
import {
  connectNats,
  createLogger,
  newEventMeta,
  publishEvent,
  runService,
  type NatsHandle,
  type RunningService,
} from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER, testTokens } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TENANT = 't-kropp';
const MONTH = '2026-03';
const TOKENS = testTokens();
const { LegKind, LegDisposition, CallDirection, LegState } = callV1;

let nats: NatsServer;
let mongo: MongoServer;
let rating: RunningService;
let billing: RunningService;
let bus: NatsHandle;
let token: string;
const stops: Array<() => Promise<unknown>> = [];

const env = (extra: Record<string, string>) => ({
  MONGO_URL: mongo.url,
  ...TOKENS.env,
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  LOG_LEVEL: 'silent',
  SHUTDOWN_TIMEOUT_MS: '5000',
  ...extra,
});

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;
function unary<T>(invoke: (metadata: grpc.Metadata, done: Callback<T>) => unknown): Promise<T> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    invoke(metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  stops.push(
    () => nats.stop(),
    () => mongo.stop(),
  );
  rating = await runService(ratingService, {
    handleSignals: false,
    env: { ...env({ MONGO_DB: 'e2e_rating' }), ...nats.env('rating') },
  });
  stops.push(() => rating.shutdown('test over'));
  billing = await runService(billingService, {
    handleSignals: false,
    env: env({
      ...nats.env('billing'),
      MONGO_DB: 'e2e_billing',
      CLOSE_SETTLE_MS: '0',
      SELLER_NAME: 'Nordtel Kommunal GmbH',
      SELLER_STREET: 'Hafenstraße 1',
      SELLER_POSTAL_CODE: '24937',
      SELLER_CITY: 'Flensburg',
      SELLER_COUNTRY_CODE: 'DE',
      SELLER_VAT_ID: 'DE123456789',
      SELLER_CONTACT_NAME: 'Rechnungsteam',
      SELLER_CONTACT_PHONE: '+49 461 1234567',
      SELLER_CONTACT_EMAIL: 'billing@nordtel.example',
      SELLER_IBAN: 'DE02120300000000202051',
      SELLER_BIC: 'BYLADEM1001',
    }),
  });
  stops.push(() => billing.shutdown('test over'));
  bus = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'e2e',
    logger: createLogger({ service: 'e2e', level: 'silent' }),
  });
  stops.push(() => bus.connection.close());
  // Rating checks a tariff's default site against the tenant's sites in the directory.
  const directory = serveTestDirectory(bus, createLogger({ service: 'e2e', level: 'silent' }), ['rathaus', 'bauhof']);
  stops.push(async () => directory.stop());
  token = await TOKENS.token({
    subject: 'operator',
    tenantId: 'provider',
    role: 'operator',
  });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

/** One call as the ari-adapter reports it: a caller leg and, when dialled, one answered leg. */
function callEnded(
  callId: string,
  direction: callV1.CallDirection,
  talk: { kind: callV1.LegKind; to: string; minutes: number; site: string },
): callV1.CallEnded {
  const start = new Date(Date.UTC(2026, 2, 10, 8, 0, 0) + Number(callId.slice(5)) * 3_600_000);
  const answered = new Date(start.getTime() + 5_000);
  const ended = new Date(answered.getTime() + talk.minutes * 60_000);
  const leg = (legId: string, kind: callV1.LegKind, to: string): callV1.Leg => ({
    legId,
    channelId: legId,
    kind,
    endpoint: `PJSIP/${to}`,
    from: '+4946248000',
    to,
    createdAt: start,
    answeredAt: answered,
    endedAt: ended,
    disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    hangupCause: 16,
    hangupCauseText: 'Normal Clearing',
    tags: { site_id: talk.site },
    state: LegState.LEG_STATE_ENDED,
  });
  return {
    meta: newEventMeta(TENANT, 'e2e', ended),
    callId,
    direction,
    startedAt: start,
    endedAt: ended,
    endedBy: 'caller',
    legs: [leg(`${callId}-caller`, LegKind.LEG_KIND_CALLER, talk.to), leg(`${callId}-b`, talk.kind, talk.to)],
  };
}

async function exportedLegs(): Promise<ratingV1.RatedLeg[]> {
  const client = new billingV1.BillingServiceClient(`127.0.0.1:${billing.grpcPort}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const legs: ratingV1.RatedLeg[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = client.exportRatedLegs({ tenantId: TENANT, month: MONTH }, metadata);
      stream.on('data', (response: billingV1.ExportRatedLegsResponse) => response.leg && legs.push(response.leg));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
  } finally {
    client.close();
  }
  return legs;
}

describe('a month of calls becomes one invoice', () => {
  it('rates the legs against the tariff’s bundles and bills its packages and exactly the overage, allocated to the sites', async () => {
    const ratingClient = new ratingServiceV1.RatingServiceClient(
      `127.0.0.1:${rating.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const billingClient = new billingV1.BillingServiceClient(
      `127.0.0.1:${billing.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    stops.push(async () => {
      ratingClient.close();
      billingClient.close();
    });
    const price = (destinationClass: string, pricePerMinute: string) => ({
      destinationClass,
      pricePerMinute,
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    });
    await unary<ratingServiceV1.SetTariffResponse>((metadata, done) =>
      ratingClient.setTariff(
        {
          tenantId: TENANT,
          tariff: ratingServiceV1.Tariff.fromPartial({
            tariffId: 'amt-2026',
            validFrom: '2026-01-01',
            prices: [price('de-fixed', '120'), price('de-mobile', '900')],
            flags: { internalFree: true, forwardingFree: true, inboundFree: true },
            // The one setting of the voice packages: bundle capacity and the invoice's package line.
            packages: 3,
            defaultSiteId: 'rathaus',
          }),
        },
        metadata,
        done,
      ),
    );
    await unary<billingV1.SetBillingProfileResponse>((metadata, done) =>
      billingClient.setBillingProfile(
        {
          tenantId: TENANT,
          profile: billingV1.BillingProfile.fromPartial({
            tenantId: TENANT,
            buyer: {
              name: 'Amt Kropp-Stapelholm',
              address: { street: 'Am Markt 10', postalCode: '24848', city: 'Kropp', countryCode: 'DE' },
              leitwegId: '01058040-0001-88',
              email: 'rechnung@amt-kropp.example',
            },
            sites: [
              { id: 'rathaus', name: 'Rathaus Kropp', headcount: 30 },
              { id: 'bauhof', name: 'Bauhof', headcount: 5 },
            ],
            voicePackagePrice: '299000',
            allocation: { method: billingV1.AllocationMethod.ALLOCATION_METHOD_USAGE, overrides: [] },
          }),
        },
        metadata,
        done,
      ),
    );

    // 3,300 fixed-network minutes from the town hall (300 beyond the 3 × 1,000 of the packages),
    // 200 mobile minutes from the depot (within 3 × 700), and an inbound call (free).
    const calls = [
      callEnded('call-1', CallDirection.CALL_DIRECTION_OUTBOUND, {
        kind: LegKind.LEG_KIND_EXTERNAL,
        to: '+4930123456',
        minutes: 1_100,
        site: 'rathaus',
      }),
      callEnded('call-2', CallDirection.CALL_DIRECTION_OUTBOUND, {
        kind: LegKind.LEG_KIND_EXTERNAL,
        to: '+4930123456',
        minutes: 1_100,
        site: 'rathaus',
      }),
      callEnded('call-3', CallDirection.CALL_DIRECTION_OUTBOUND, {
        kind: LegKind.LEG_KIND_EXTERNAL,
        to: '+4940987654',
        minutes: 1_100,
        site: 'rathaus',
      }),
      callEnded('call-4', CallDirection.CALL_DIRECTION_OUTBOUND, {
        kind: LegKind.LEG_KIND_EXTERNAL,
        to: '+4915112345678',
        minutes: 100,
        site: 'bauhof',
      }),
      callEnded('call-5', CallDirection.CALL_DIRECTION_OUTBOUND, {
        kind: LegKind.LEG_KIND_EXTERNAL,
        to: '+4917012345678',
        minutes: 100,
        site: 'bauhof',
      }),
      callEnded('call-6', CallDirection.CALL_DIRECTION_INBOUND, {
        kind: LegKind.LEG_KIND_INTERNAL,
        to: '1001',
        minutes: 30,
        site: 'bauhof',
      }),
    ];
    // Every event twice: redelivery must change nothing.
    for (const call of [...calls, ...calls]) await publishEvent(bus, CallEvents.ended, call);

    // Outbound callers' own legs are not rated: 5 external legs + the inbound caller + the internal leg.
    let legs: ratingV1.RatedLeg[] = [];
    const deadline = Date.now() + 60_000;
    while ((legs = await exportedLegs()).length < 7) {
      if (Date.now() > deadline) throw new Error(`billing holds ${legs.length} of 7 rated legs`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(legs).toHaveLength(7);
    const overage = legs.reduce((sum, leg) => sum + leg.overageSeconds, 0);
    const amount = legs.reduce((sum, leg) => sum + Number(leg.amount), 0);
    expect(overage).toBe(300 * 60);
    expect(amount).toBe(300 * 120);
    const usage = await unary<ratingServiceV1.GetUsageResponse>((metadata, done) =>
      ratingClient.getUsage(
        ratingServiceV1.GetUsageRequest.fromPartial({ tenantId: TENANT, month: MONTH }),
        metadata,
        done,
      ),
    );
    expect(usage.packages).toBe(3);
    expect(usage.pools.map((pool) => [pool.pool, Number(pool.capacitySeconds)])).toEqual([
      ['de-fixed', 3 * 1_000 * 60],
      ['de-mobile', 3 * 700 * 60],
    ]);

    const { invoice } = await unary<billingV1.CloseMonthResponse>((metadata, done) =>
      billingClient.closeMonth({ tenantId: TENANT, month: MONTH }, metadata, done),
    );
    expect(invoice).toBeDefined();
    const overageLines = invoice!.lines.filter(
      (line) => line.category === billingV1.LineCategory.LINE_CATEGORY_OVERAGE,
    );
    expect(overageLines.map((line) => [line.destinationClass, Number(line.amount)])).toEqual([['de-fixed', 300 * 120]]);
    const packageLine = (lines: billingV1.InvoiceLine[]) =>
      lines.find((line) => line.category === billingV1.LineCategory.LINE_CATEGORY_PACKAGES);
    expect(packageLine(invoice!.lines)).toMatchObject({ quantityMilli: '3000', amount: String(3 * 299_000) });
    const lineCents = invoice!.lines.reduce((sum, line) => sum + Number(line.netCents), 0);
    expect(Number(invoice!.netCents)).toBe(lineCents);
    // The invoice is the exported legs plus the package fee (rounded once per line, to cents).
    const packageCents = invoice!.lines
      .filter((line) => line.category === billingV1.LineCategory.LINE_CATEGORY_PACKAGES)
      .reduce((sum, line) => sum + Number(line.netCents), 0);
    expect(Number(invoice!.netCents)).toBe(packageCents + Math.round(amount / 100));
    const shares = invoice!.allocation.reduce((sum, share) => sum + Number(share.grossCents), 0);
    expect(shares).toBe(Number(invoice!.grossCents));
    expect(invoice!.allocation.map((share) => share.siteId).sort()).toEqual(['bauhof', 'rathaus']);

    // A tariff with 5 packages from April on: April's invoice (a month without calls) bills 5.
    await unary<ratingServiceV1.SetTariffResponse>((metadata, done) =>
      ratingClient.setTariff(
        {
          tenantId: TENANT,
          tariff: ratingServiceV1.Tariff.fromPartial({
            tariffId: 'amt-2026-04',
            validFrom: '2026-04-01',
            prices: [price('de-fixed', '120'), price('de-mobile', '900')],
            flags: { internalFree: true, forwardingFree: true, inboundFree: true },
            packages: 5,
            defaultSiteId: 'rathaus',
          }),
        },
        metadata,
        done,
      ),
    );
    const { invoice: april } = await unary<billingV1.CloseMonthResponse>((metadata, done) =>
      billingClient.closeMonth({ tenantId: TENANT, month: '2026-04' }, metadata, done),
    );
    expect(packageLine(april!.lines)).toMatchObject({ quantityMilli: '5000', amount: String(5 * 299_000) });
  });
});
