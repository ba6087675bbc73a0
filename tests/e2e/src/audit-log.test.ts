import * as grpc from '@grpc/grpc-js';
import { directoryService } from '@switchboard/directory';
import { directoryServiceV1, directoryV1, ratingServiceV1, type auditV1 } from '@switchboard/proto';
import { ratingService } from '@switchboard/rating/service';
import { runService, type Principal, type RunningService } from '@switchboard/service-kit';
import { eventually, startMongo, startNats, testTokens, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The audit log across services: a change through rating's admin API is published by the kit and
// stored by the directory, which lists it to the tenant's administrator.

const TENANT = 't-audit';
const TOKENS = testTokens();
const DEVICE_SECRET_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

let nats: NatsServer;
let mongo: MongoServer;
let directory: RunningService;
let rating: RunningService;
const clients: grpc.Client[] = [];

const env = (service: string, db: string, extra: Record<string, string> = {}) => ({
  ...nats.env(service),
  MONGO_URL: mongo.url,
  MONGO_DB: db,
  ...TOKENS.env,
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
  LOG_LEVEL: 'silent',
  ...extra,
});

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;
type Unary<Req, Res> = (request: Req, metadata: grpc.Metadata, callback: Callback<Res>) => unknown;

/** Every method of a client as a promise, called with a token for `principal`. */
async function as<C extends grpc.Client>(client: C, principal: Principal) {
  clients.push(client);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await TOKENS.token(principal)}`);
  return <Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> =>
    new Promise((resolve, reject) =>
      method.call(client, request, metadata, (error: grpc.ServiceError | null, response: Res) =>
        error ? reject(error) : resolve(response),
      ),
    );
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  directory = await runService(directoryService, {
    handleSignals: false,
    env: env('directory', 'e2e_audit_directory', { DEVICE_SECRET_KEY }),
  });
  rating = await runService(ratingService, { handleSignals: false, env: env('rating', 'e2e_audit_rating') });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await rating?.shutdown('test over');
  await directory?.shutdown('test over');
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('audit log', () => {
  it("lists a tariff set through rating's API once, to the tenant's admin", async () => {
    const address = (port: number | undefined) => `127.0.0.1:${port}`;
    const insecure = grpc.credentials.createInsecure();
    const operatorDirectory = new directoryServiceV1.DirectoryServiceClient(address(directory.grpcPort), insecure);
    const asOperator = await as(operatorDirectory, { subject: 'ops', tenantId: 'provider', role: 'operator' });
    await asOperator(operatorDirectory.createTenant, {
      tenantId: TENANT,
      tenant: directoryV1.Tenant.fromPartial({ tenantId: TENANT, name: 'Amt Audit', federalState: 'SH' }),
    });
    await asOperator(operatorDirectory.createSite, {
      tenantId: TENANT,
      site: directoryV1.Site.fromPartial({
        siteId: 'rathaus',
        name: 'Rathaus',
        kind: 'town-hall',
        address: { street: 'Dorfstraße 1', postalCode: '24848', city: 'Kropp' },
        headcount: 2,
      }),
    });

    const fiona: Principal = { subject: 'fiona', tenantId: TENANT, role: 'admin' };
    const ratingClient = new ratingServiceV1.RatingServiceClient(address(rating.grpcPort), insecure);
    const asFiona = await as(ratingClient, fiona);
    const tariff = (defaultSiteId: string) =>
      ratingServiceV1.Tariff.fromPartial({
        tariffId: 'amt-2026',
        validFrom: '2026-01-01',
        prices: [
          {
            destinationClass: 'de-fixed',
            pricePerMinute: '120',
            firstIncrementSeconds: 60,
            nextIncrementSeconds: 1,
            connectionFee: '0',
          },
        ],
        flags: { internalFree: true, forwardingFree: true, inboundFree: true },
        packages: 3,
        defaultSiteId,
      });
    // Refused changes are not changes: only the one that succeeded is recorded.
    await expect(
      asFiona(ratingClient.setTariff, { tenantId: TENANT, tariff: tariff('no-such-site') }),
    ).rejects.toThrow();
    await asFiona(ratingClient.setTariff, { tenantId: TENANT, tariff: tariff('rathaus') });

    const directoryClient = new directoryServiceV1.DirectoryServiceClient(address(directory.grpcPort), insecure);
    const asAdmin = await as(directoryClient, fiona);
    const list = () =>
      asAdmin<directoryServiceV1.ListAuditEntriesRequest, directoryServiceV1.ListAuditEntriesResponse>(
        directoryClient.listAuditEntries,
        directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: TENANT, service: 'rating' }),
      );
    const entry = await eventually(
      async () => (await list()).entries.find((candidate: auditV1.AuditEntry) => candidate.method === 'SetTariff'),
      "rating's SetTariff in the directory's audit log",
    );
    expect(entry).toMatchObject({ tenantId: TENANT, subject: 'fiona', role: 'admin', service: 'rating' });
    expect(JSON.parse(entry.summary)).toMatchObject({
      tenantId: TENANT,
      tariff: { tariffId: 'amt-2026', defaultSiteId: 'rathaus', packages: 3 },
    });
    expect((await list()).entries).toHaveLength(1);
    // The operator's directory changes are in the same log, under the directory.
    const all = await asAdmin<directoryServiceV1.ListAuditEntriesRequest, directoryServiceV1.ListAuditEntriesResponse>(
      directoryClient.listAuditEntries,
      directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: TENANT }),
    );
    expect(all.entries.map((candidate) => `${candidate.service}/${candidate.method}`)).toEqual([
      'rating/SetTariff',
      'directory/CreateSite',
      'directory/CreateTenant',
    ]);
  });
});
