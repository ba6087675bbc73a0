import * as grpc from '@grpc/grpc-js';
import { billingService } from '@switchboard/billing';
import { directoryService } from '@switchboard/directory';
import { CallEvents } from '@switchboard/events';
import { faxService } from '@switchboard/fax';
import { billingV1, callV1, directoryServiceV1, directoryV1, type ratingV1 } from '@switchboard/proto';
import { ratingService } from '@switchboard/rating/service';
import { routingService } from '@switchboard/routing';
import {
  connectNats,
  createLogger,
  newEventMeta,
  publishEvent,
  runService,
  type NatsHandle,
  type Principal,
  type RunningService,
} from '@switchboard/service-kit';
import {
  eventually,
  startMongo,
  startNats,
  startSmtpSink,
  TESTER,
  testTokens,
  type MongoServer,
  type NatsServer,
  type SmtpSink,
} from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Data protection across the services, each running as it does in production: the tenant's
// retention days set in the directory shorten old numbers on rating's and billing's own sweeps,
// and the directory's EraseNumber reaches rating, billing, fax and routing and reports each.

const TENANT = 't-privacy';
const TOKENS = testTokens();
const DEVICE_SECRET_KEY = '5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d';
const CITIZEN = '+494621234567';
const OTHER = '+4940987654';
const { LegKind, LegDisposition, CallDirection, LegState } = callV1;

let nats: NatsServer;
let mongo: MongoServer;
let smtp: SmtpSink;
let bus: NatsHandle;
const services: RunningService[] = [];
const clients: grpc.Client[] = [];
let directory: RunningService;
let billing: RunningService;

const env = (service: string, extra: Record<string, string> = {}) => ({
  ...nats.env(service),
  MONGO_URL: mongo.url,
  MONGO_DB: `e2e_privacy_${service}`,
  ...TOKENS.env,
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  LOG_LEVEL: 'silent',
  // Every second, so a test sees a sweep without waiting an hour.
  PRIVACY_SWEEP_INTERVAL_MS: '1000',
  ...extra,
});

const SELLER = {
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
};

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;
type Unary<Req, Res> = (request: Req, metadata: grpc.Metadata, callback: Callback<Res>) => unknown;

async function as<C extends grpc.Client>(client: C, principal: Principal) {
  clients.push(client);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await TOKENS.token(principal)}`);
  return {
    client,
    metadata,
    call: <Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> =>
      new Promise((resolve, reject) =>
        method.call(client, request, metadata, (error: grpc.ServiceError | null, response: Res) =>
          error ? reject(error) : resolve(response),
        ),
      ),
  };
}

const address = (service: RunningService) => `127.0.0.1:${service.grpcPort}`;
const insecure = grpc.credentials.createInsecure();

/** An inbound call from `caller` (rated with the caller's number) or an outbound one to it, answered at `at`. */
function call(callId: string, direction: 'inbound' | 'outbound', number: string, at: Date): callV1.CallEnded {
  const ended = new Date(at.getTime() + 120_000);
  const leg = (legId: string, kind: callV1.LegKind, from: string, to: string): callV1.Leg => ({
    legId,
    channelId: legId,
    kind,
    endpoint: 'PJSIP/trunk',
    from,
    to,
    createdAt: at,
    answeredAt: at,
    endedAt: ended,
    disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    hangupCause: 16,
    hangupCauseText: 'Normal Clearing',
    tags: { site_id: 'rathaus' },
    state: LegState.LEG_STATE_ENDED,
  });
  return {
    meta: newEventMeta(TENANT, 'e2e', ended),
    callId,
    direction: direction === 'inbound' ? CallDirection.CALL_DIRECTION_INBOUND : CallDirection.CALL_DIRECTION_OUTBOUND,
    startedAt: at,
    endedAt: ended,
    endedBy: 'caller',
    legs:
      direction === 'inbound'
        ? [leg(`${callId}-in`, LegKind.LEG_KIND_CALLER, number, '+4946248000')]
        : [leg(`${callId}-out`, LegKind.LEG_KIND_EXTERNAL, '+4946248000', number)],
  };
}

/** The billing month (Europe/Berlin) of an instant. */
const monthOf = (at: Date) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit' }).format(at);

async function billedLegs(month: string): Promise<ratingV1.RatedLeg[]> {
  const { client, metadata } = await as(new billingV1.BillingServiceClient(address(billing), insecure), {
    subject: 'controller',
    tenantId: TENANT,
    role: 'finance',
  });
  return new Promise((resolve, reject) => {
    const legs: ratingV1.RatedLeg[] = [];
    const stream = client.exportRatedLegs({ tenantId: TENANT, month }, metadata);
    stream.on('data', (part: billingV1.ExportRatedLegsResponse) => legs.push(part.leg!));
    stream.on('error', reject);
    stream.on('end', () => resolve(legs));
  });
}

const recent = new Date(Date.now() - 2 * 86_400_000);

beforeAll(async () => {
  [nats, mongo, smtp] = await Promise.all([startNats(), startMongo(), startSmtpSink()]);
  directory = await runService(directoryService, {
    handleSignals: false,
    env: env('directory', { DEVICE_SECRET_KEY }),
  });
  services.push(directory);
  services.push(await runService(ratingService, { handleSignals: false, env: env('rating') }));
  billing = await runService(billingService, {
    handleSignals: false,
    env: env('billing', { CLOSE_SETTLE_MS: '0', ...SELLER }),
  });
  services.push(billing);
  services.push(await runService(faxService, { handleSignals: false, env: env('fax', { SMTP_URL: smtp.url }) }));
  services.push(await runService(routingService, { handleSignals: false, env: env('routing') }));
  bus = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'e2e-privacy',
    logger: createLogger({ service: 'e2e', level: 'silent' }),
  });
  const operator = await as(new directoryServiceV1.DirectoryServiceClient(address(directory), insecure), {
    subject: 'ops',
    tenantId: 'provider',
    role: 'operator',
  });
  await operator.call(operator.client.createTenant, {
    tenantId: TENANT,
    tenant: directoryV1.Tenant.fromPartial({
      tenantId: TENANT,
      name: 'Amt Datenschutz',
      federalState: 'SH',
      privacy: { retentionDays: 30, aggregateOnlyStatistics: false },
    }),
  });
  await operator.call(operator.client.createSite, {
    tenantId: TENANT,
    site: directoryV1.Site.fromPartial({
      siteId: 'rathaus',
      name: 'Rathaus',
      kind: 'town-hall',
      address: { street: 'Dorfstraße 1', postalCode: '24848', city: 'Kropp' },
      headcount: 3,
    }),
  });
  for (const event of [
    call('c-old', 'inbound', CITIZEN, new Date('2026-01-12T09:00:00Z')),
    call('c-new-in', 'inbound', OTHER, recent),
    call('c-new-out', 'outbound', CITIZEN, recent),
  ]) {
    await publishEvent(bus, CallEvents.ended, event);
  }
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await bus?.connection.close();
  for (const service of services.reverse()) await service.shutdown('test over');
  await Promise.all([nats?.stop(), mongo?.stop(), smtp?.stop()]);
});

describe('data protection across the services', () => {
  it("shortens numbers older than the tenant's retention days, and only those", async () => {
    const old = await eventually(async () => {
      const legs = await billedLegs('2026-01');
      return legs[0]?.destination === '+494621234xxx' ? legs : undefined;
    }, "billing's copy of the January leg shortened");
    expect(old.map((leg) => [leg.legId, leg.destination, leg.amount])).toEqual([['c-old-in', '+494621234xxx', '0']]);
    const current = await eventually(async () => {
      const legs = await billedLegs(monthOf(recent));
      return legs.length === 2 ? legs : undefined;
    }, 'the recent legs billed');
    expect(current.map((leg) => leg.destination).sort()).toEqual([OTHER, CITIZEN].sort());
  });

  it('erases a number everywhere on request and says where it was', async () => {
    const admin = await as(new directoryServiceV1.DirectoryServiceClient(address(directory), insecure), {
      subject: 'anna',
      tenantId: TENANT,
      role: 'admin',
    });
    const erased = await admin.call<directoryServiceV1.EraseNumberRequest, directoryServiceV1.EraseNumberResponse>(
      admin.client.eraseNumber,
      { tenantId: TENANT, number: '040 987654' },
    );
    expect(erased).toEqual({
      number: OTHER,
      shortened: '+4940987xxx',
      changes: [
        { service: 'billing', kind: 'billed-leg', count: '1' },
        { service: 'fax', kind: 'fax', count: '0' },
        { service: 'fax', kind: 'retention-log', count: '0' },
        { service: 'fax', kind: 'voicemail', count: '0' },
        { service: 'rating', kind: 'rated-leg', count: '1' },
        { service: 'routing', kind: 'call-state', count: '0' },
        { service: 'routing', kind: 'callback', count: '0' },
      ],
    });
    const current = await billedLegs(monthOf(recent));
    expect(current.map((leg) => leg.destination).sort()).toEqual([CITIZEN, '+4940987xxx'].sort());
  });
});
