import * as grpc from '@grpc/grpc-js';
import { CallEvents, eventSubject, type EventPayload, type EventType } from '@switchboard/events';
import { ratingServiceV1, type callV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  runService,
  type NatsHandle,
  type Role,
  type RunningService,
} from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER, testTokens } from '@switchboard/testkit';
import { MongoClient, type Db } from 'mongodb';
import { BulkPublisher } from '../src/leg-publisher.js';
import { serveTestDirectory, type TestDirectory } from '../src/testing/test-directory.js';
import { RATING_DURABLE, ratingService } from '../src/service.js';

export const TOKENS = testTokens();
export const SITES = Array.from({ length: 47 }, (_, index) => `site-${String(index + 1).padStart(2, '0')}`);

/** Real NATS, a real MongoDB-wire server and the rating service in-process, plus clients for tests. */
export interface Harness {
  nats: NatsHandle;
  db: Db;
  /** The directory's ExportTenant for the service: every tenant has sites site-01 … site-47 unless set. */
  directory: TestDirectory;
  natsUrl: string;
  mongoUrl: string;
  /** `ferretdb` for the local stand-in, `mongodb` under Testcontainers. */
  flavour: MongoServer['flavour'];
  readonly service: RunningService;
  /** Stops the service and starts a fresh one on the same servers (empty in-memory state). */
  restart(): Promise<void>;
  /** Starts one more replica on the same servers and durable; the caller shuts it down. */
  replica(): Promise<RunningService>;
  client: ratingServiceV1.RatingServiceClient;
  token(tenantId: string, role?: Role): Promise<string>;
  /** Calls a unary RPC with a bearer token for `tenantId` (admin unless told otherwise). */
  rpc<Req, Res>(method: string, request: Req, tenantId: string, role?: Role): Promise<Res>;
  publishCalls(events: readonly callV1.CallEnded[]): Promise<void>;
  /** Resolves once the rating consumer has acked everything published to CALLS. */
  settled(timeoutMs?: number): Promise<void>;
  /** Every message of one event type in the CDRS stream, in stream order. */
  readAll<T extends EventPayload>(type: EventType<T>, tenantId: string): Promise<T[]>;
  stop(): Promise<void>;
}

/** Publishes call-ended events, a window of JetStream publishes at a time (their acks awaited together). */
export async function publishCalls(nats: NatsHandle, events: readonly callV1.CallEnded[]): Promise<void> {
  const window = 2_000;
  const bulk = new BulkPublisher(nats.connection, nats.inboxPrefix);
  try {
    for (let index = 0; index < events.length; index += window) {
      const outcome = await bulk.publishAll(
        events.slice(index, index + window).map((event) => ({
          subject: eventSubject(event.meta!.tenantId, CallEvents.ended.domain, CallEvents.ended.event),
          data: CallEvents.ended.codec.encode(event).finish(),
          msgId: event.meta!.eventId,
        })),
      );
      const failed = outcome.find(Boolean);
      if (failed) throw failed;
    }
  } finally {
    bulk.close();
  }
}

/** Resolves once the rating consumer has acked everything published to CALLS. */
export async function waitSettled(nats: NatsHandle, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stream = await nats.jsm.streams.info('CALLS');
    const consumer = await nats.jsm.consumers.info('CALLS', RATING_DURABLE).catch(() => undefined);
    if (consumer && consumer.ack_floor.stream_seq >= stream.state.last_seq && consumer.num_pending === 0) return;
    if (Date.now() > deadline) throw new Error(`rating did not settle: ${JSON.stringify(consumer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startHarness(dbName = 'rating'): Promise<Harness> {
  const natsServer: NatsServer = await startNats();
  let mongoServer: MongoServer | undefined;
  let mongoClient: MongoClient | undefined;
  try {
    mongoServer = await startMongo();
    const env = {
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...natsServer.env('rating'),
      MONGO_URL: mongoServer.url,
      MONGO_DB: dbName,
      ...TOKENS.env,
    };
    const nats = await connectNats({
      url: natsServer.url,
      credentials: natsServer.credentials(TESTER),
      name: 'rating-test',
      logger: createLogger({ service: 'rating-test', level: 'silent' }),
    });
    const directory = serveTestDirectory(nats, createLogger({ service: 'test-directory', level: 'silent' }), SITES);
    await nats.connection.flush();
    let service = await runService(ratingService, { env, handleSignals: false });
    mongoClient = await MongoClient.connect(mongoServer.url);
    const db = mongoClient.db(dbName);
    let client = new ratingServiceV1.RatingServiceClient(
      `127.0.0.1:${service.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const auth = TOKENS;
    const token = (tenantId: string, role: Role = 'admin') => auth.token({ subject: 'test', tenantId, role });
    const mongo = mongoServer;
    const mongoConnection = mongoClient;
    return {
      nats,
      db,
      directory,
      natsUrl: natsServer.url,
      mongoUrl: mongo.url,
      flavour: mongo.flavour,
      get service() {
        return service;
      },
      get client() {
        return client;
      },
      restart: async () => {
        client.close();
        await service.shutdown('restart');
        service = await runService(ratingService, { env, handleSignals: false });
        client = new ratingServiceV1.RatingServiceClient(
          `127.0.0.1:${service.grpcPort}`,
          grpc.credentials.createInsecure(),
        );
      },
      replica: () => runService(ratingService, { env, handleSignals: false }),
      token,
      rpc: async <Req, Res>(method: string, request: Req, tenantId: string, role: Role = 'admin') => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${await token(tenantId, role)}`);
        type Unary = (
          this: grpc.Client,
          request: Req,
          metadata: grpc.Metadata,
          callback: (error: grpc.ServiceError | null, response: Res) => void,
        ) => void;
        const fn = (client as unknown as Record<string, Unary | undefined>)[method];
        if (!fn) throw new Error(`no RPC ${method}`);
        return new Promise<Res>((resolve, reject) =>
          fn.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
        );
      },
      publishCalls: (events) => publishCalls(nats, events),
      settled: (timeoutMs = 120_000) => waitSettled(nats, timeoutMs),
      readAll: async <T extends EventPayload>(type: EventType<T>, tenantId: string) => {
        const subject = `sb.${tenantId}.${type.domain}.${type.event}`;
        const stream = await nats.jsm.streams.info(type.stream.name, { subjects_filter: subject });
        const expected = stream.state.subjects?.[subject] ?? 0;
        const consumer = await nats.js.consumers.get(type.stream.name, { filter_subjects: [subject] });
        const out: T[] = [];
        while (out.length < expected) {
          const batch = await consumer.fetch({ max_messages: Math.min(expected - out.length, 1000), expires: 5_000 });
          for await (const message of batch) out.push(type.codec.decode(message.data));
        }
        return out;
      },
      stop: async () => {
        client.close();
        directory.stop();
        await service.shutdown('test over');
        await nats.connection.close();
        await mongoConnection.close();
        await mongo.stop();
        await natsServer.stop();
      },
    };
  } catch (error) {
    await mongoClient?.close();
    await mongoServer?.stop();
    await natsServer.stop();
    throw error;
  }
}
