import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connectNats, createLogger, runService, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { spawnService, type ServiceProcess } from '@switchboard/stack';
import type { MongoServer, NatsServer, SmtpSink, TestTokens } from '@switchboard/testkit';
import { TESTER } from '@switchboard/testkit';
import { faxService } from '../src/service.js';

/** What the fax and voicemail tests run on: their own NATS, MongoDB and SMTP sink, one token key pair. */
export interface Infrastructure {
  nats: NatsServer;
  mongo: MongoServer;
  smtp: SmtpSink;
  tokens: TestTokens;
}

export type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** Calls a unary method of `target` with a bearer token (the generated clients' methods take callbacks). */
export function unaryCall<Req, Res>(target: grpc.Client, method: unknown, request: Req, token: string): Promise<Res> {
  return new Promise((resolve, reject) =>
    (method as Unary<Req, Res>).call(target, request, bearer(token), (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

const local = {
  BIND_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  GRPC_PORT: '0',
};

function run(
  definition: Parameters<typeof runService>[0],
  { nats, mongo, tokens }: Infrastructure,
  db: string,
  env: Record<string, string>,
): Promise<RunningService> {
  const common = {
    ...nats.env(definition.name),
    MONGO_URL: mongo.url,
    MONGO_DB: db,
    ...local,
    LOG_LEVEL: 'silent',
    ...tokens.env,
  };
  return runService(definition, { env: { ...common, ...env }, handleSignals: false });
}

/**
 * The directory service as its own process (from its dist: build first), its log in a new temp
 * directory; its device key is fixed, so a test may stop it and start it again on its data.
 */
export async function runDirectory({ nats, mongo, tokens }: Infrastructure, db: string): Promise<ServiceProcess> {
  return spawnService({
    name: 'directory',
    replica: 0,
    env: {
      ...nats.env('directory'),
      MONGO_URL: mongo.url,
      MONGO_DB: db,
      ...local,
      // `info`: the start waits for the kit's ready line.
      LOG_LEVEL: 'info',
      ...tokens.env,
      DEVICE_SECRET_KEY: '3c9a5e07d1b84f26a0e7c5139d2b68f4e1a7c09b5d3f62e8a4c1b7d09e5f2a36',
    },
    logDir: await mkdtemp(path.join(tmpdir(), 'sb-fax-test-')),
    readyTimeoutMs: 60_000,
  });
}

/** The fax service with short delivery back-off, so a retried delivery is seen within a test. */
export function runFax(infrastructure: Infrastructure, db: string): Promise<RunningService> {
  return run(faxService, infrastructure, db, {
    SMTP_URL: infrastructure.smtp.url,
    SMTP_TIMEOUT_MS: '2000',
    FAX_DELIVERY_BACKOFF_MS: '300,600',
    FAX_DELIVERY_MAX_ATTEMPTS: '50',
  });
}

/**
 * The fax service as its own process (from its dist: build first), so a test can SIGKILL it in
 * the middle of its work and start it again on the same data; its log in `logDir`.
 */
export function spawnFax(
  { nats, mongo, tokens }: Infrastructure,
  db: string,
  logDir: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return spawnService({
    name: 'fax',
    replica: 0,
    env: {
      ...nats.env('fax'),
      MONGO_URL: mongo.url,
      MONGO_DB: db,
      ...local,
      LOG_LEVEL: 'info',
      ...tokens.env,
      ...env,
    },
    logDir,
    readyTimeoutMs: 120_000,
  });
}

/** The NATS connection a test publishes on as the ARI adapter would. */
export function connectAdapter(nats: NatsServer): Promise<NatsHandle> {
  return connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'adapter-test',
    logger: createLogger({ service: 'adapter-test', level: 'silent' }),
  });
}

/** The sum of a counter's series on the service's `/metrics` whose labels include `labels`. */
export async function metricValue(
  service: RunningService,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      total += Number(match[3]);
    }
  }
  return total;
}
