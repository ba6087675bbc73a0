import * as grpc from '@grpc/grpc-js';
import { RatingEvents } from '@switchboard/events';
import { billingV1, ratingServiceV1, type ratingV1 } from '@switchboard/proto';
import { RATING_RPC_DEFINITION, ratingRpcServeSubject } from '@switchboard/rpc-clients';
import {
  connectNats,
  createLogger,
  newEventMeta,
  publishEvent,
  runService,
  serveNatsRpc,
  type NatsHandle,
  type RunningService,
  type Role,
} from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER, testTokens } from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { billingService } from '../src/service.js';
import type { StoredLeg } from '../src/rated-legs.js';
import { wireLeg } from '../src/wire.js';
import { SELLER_ENV } from './invoice-fixture.js';
import { STORY_PACKAGES } from './story-month.js';

export const TOKENS = testTokens();
const auth = TOKENS;

/**
 * Real NATS and a MongoDB-wire server, billing running in-process, a client and a publisher, and
 * rating's GetUsage over NATS answering every month's voice packages as the story tariff's.
 */
export interface BillingHarness {
  service: RunningService;
  address: string;
  client: billingV1.BillingServiceClient;
  db: Db;
  nats: NatsHandle;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBilling(): Promise<BillingHarness> {
  const natsServer: NatsServer = await startNats();
  let mongoServer: MongoServer | undefined;
  try {
    mongoServer = await startMongo();
    const env = {
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...natsServer.env('billing'),
      MONGO_URL: mongoServer.url,
      MONGO_DB: 'billing',
      ...TOKENS.env,
      CLOSE_SETTLE_MS: '0',
      ...SELLER_ENV,
    };
    const service = await runService(billingService, { env, handleSignals: false });
    const address = `127.0.0.1:${service.grpcPort}`;
    const client = new billingV1.BillingServiceClient(address, grpc.credentials.createInsecure());
    const mongo = await MongoClient.connect(mongoServer.url);
    const nats = await connectNats({
      url: natsServer.url,
      credentials: natsServer.credentials(TESTER),
      name: 'billing-test',
      logger: createLogger({ service: 'billing-test', level: 'silent' }),
    });
    const served = serveNatsRpc(nats, {
      definition: RATING_RPC_DEFINITION,
      handlers: {
        getUsage: async ({ tenantId, month }) =>
          ratingServiceV1.GetUsageResponse.fromPartial({ tenantId, month, packages: STORY_PACKAGES }),
      },
      subjectFor: ratingRpcServeSubject,
      logger: createLogger({ service: 'rating-double', level: 'silent' }),
    });
    const mongoStop = mongoServer;
    return {
      service,
      address,
      client,
      db: mongo.db('billing'),
      nats,
      env,
      stop: async () => {
        for (const subscription of served) subscription.unsubscribe();
        client.close();
        await nats.connection.close();
        await mongo.close();
        await service.shutdown('test done');
        await mongoStop.stop();
        await natsServer.stop();
      },
    };
  } catch (error) {
    await mongoServer?.stop();
    await natsServer.stop();
    throw error;
  }
}

export function metadata(tenantId: string, role: Role = 'operator'): Promise<grpc.Metadata> {
  return auth.token({ subject: 'billing-test', tenantId, role }).then((token) => {
    const value = new grpc.Metadata();
    value.set('authorization', `Bearer ${token}`);
    return value;
  });
}

export function call<Res>(
  invoke: (done: (error: grpc.ServiceError | null, response: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response))));
}

/** Publishes legs as rating does; `copy` gives every event a second id, a duplicate JetStream keeps. */
export async function publishLegs(nats: NatsHandle, legs: readonly StoredLeg[], copy = ''): Promise<void> {
  for (let index = 0; index < legs.length; index += 200) {
    await Promise.all(
      legs.slice(index, index + 200).map((leg) => {
        const meta = newEventMeta(leg.tenantId, 'rating');
        const event: ratingV1.CdrRated = {
          meta: { ...meta, eventId: `${leg.tenantId}:${leg.callId}:${leg.legId}:${leg.ratingVersion}${copy}` },
          leg: wireLeg(leg),
        };
        return publishEvent(nats, RatingEvents.cdrRated, event);
      }),
    );
  }
}
