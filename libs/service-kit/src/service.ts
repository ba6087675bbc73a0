import type { z } from 'zod';
import type { PubAck } from '@nats-io/jetstream';
import {
  AUDIT_STREAM,
  AuditEvents,
  DLQ_STREAM,
  type EventPayload,
  type EventType,
  type StreamDefinition,
} from '@switchboard/events';
import { parsePublicKeys } from '@switchboard/tokens';
import { createAuditRecorder } from './audit.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import {
  baseConfigSchema,
  grpcConfigSchema,
  loadConfig,
  mongoConfigSchema,
  natsConfigSchema,
  serviceTokenConfigSchema,
  withAuthRules,
  withNatsCredentialRule,
  type BaseConfig,
  type GrpcConfig,
  type MongoConfig,
  type NatsConfig,
  type ServiceTokenConfig,
} from './config.js';
import { GrpcServer } from './grpc-server.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { createLogger, type Logger } from './logger.js';
import { observeJetStream, type ObservedConsumer } from './metrics.js';
import { applyIndexes, connectMongo, type IndexDeclaration, type MongoHandle } from './mongo.js';
import { connectNats, ensureStreams, natsSeedFromConfig, type NatsHandle } from './nats/connection.js';
import { startConsumer, type ConsumerOptions, type RunningConsumer } from './nats/consumer.js';
import { publishEvent } from './nats/publish.js';
import { serviceTokenSource } from './service-token.js';
import { startTelemetry } from './telemetry.js';

type Env = Record<string, string | undefined>;

export interface ServiceDefinition<S extends z.ZodObject> {
  /** The one name used everywhere: folder, package, chart component, OTEL_SERVICE_NAME. */
  name: string;
  version: string;
  /** The service's own variables; the kit adds those of the parts it asks for. */
  config?: S;
  nats?: { streams: readonly StreamDefinition[] };
  mongo?: { indexes: readonly IndexDeclaration[] };
  grpc?: { reflectionProtos: readonly string[] };
  /** Wires the service: add gRPC services, start consumers. Runs before the service reports ready. */
  start(context: ServiceContext<z.infer<S>>): Promise<void> | void;
}

export type KitConfig = BaseConfig & ServiceTokenConfig & Partial<NatsConfig & MongoConfig & GrpcConfig>;

export interface ServiceContext<C> {
  readonly config: Readonly<C & KitConfig>;
  readonly logger: Logger;
  /** Present when the definition asked for NATS. */
  readonly nats: NatsHandle | undefined;
  readonly mongo: MongoHandle | undefined;
  readonly grpc: GrpcServer | undefined;
  /** Checks bearer tokens (present with gRPC); it cannot mint: services hold no signing key. */
  readonly authenticator: Authenticator | undefined;
  /**
   * This service's own token for calling other services' APIs, from AUTH_SERVICE_TOKEN or
   * AUTH_SERVICE_TOKEN_FILE (re-read when the file changes); rejects with the reason when there is
   * none, it is not a `service` token or it expired.
   */
  serviceToken(): Promise<string>;
  /** A durable consumer that shutdown stops before it drains NATS. */
  consume(options: ConsumerOptions): Promise<RunningConsumer>;
  publish<T extends EventPayload>(type: EventType<T>, payload: T): Promise<PubAck>;
  /** Work (a call in progress) that shutdown waits for before it closes connections. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Runs at shutdown after in-flight work ended, before connections close; last added runs first. */
  onShutdown(hook: () => Promise<void> | void): void;
  /**
   * Aborted as soon as shutdown starts, before in-flight work is awaited: for work that is handed
   * on rather than waited for (the adapter's calls live on in Asterisk for its successor).
   */
  readonly stopping: AbortSignal;
  /** A dependency of the service's own (e.g. Asterisk) that `/readyz` reports and requires. */
  addReadinessCheck(name: string, check: () => boolean | Promise<boolean>): void;
}

export interface RunningService {
  readonly logger: Logger;
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
  /** Stops taking work, waits for in-flight work, closes everything; resolves to the exit code. */
  shutdown(reason: string): Promise<number>;
}

export interface RunOptions {
  env?: Env;
  /** Exit the process on SIGTERM/SIGINT once shut down (default true; tests run in-process with false). */
  handleSignals?: boolean;
  logDestination?: Parameters<typeof createLogger>[0]['destination'];
}

function composeSchema(definition: ServiceDefinition<z.ZodObject>): z.ZodObject {
  let schema: z.ZodObject = baseConfigSchema.extend(serviceTokenConfigSchema.shape);
  if (definition.nats) schema = schema.extend(natsConfigSchema.shape);
  if (definition.mongo) schema = schema.extend(mongoConfigSchema.shape);
  if (definition.grpc) schema = schema.extend(grpcConfigSchema.shape);
  if (definition.config) schema = schema.extend(definition.config.shape);
  const checked = withAuthRules(schema, { grpc: definition.grpc !== undefined });
  return definition.nats ? withNatsCredentialRule(checked) : checked;
}

/**
 * Boots a service linearly and fails fast: config, logging and telemetry, connections, the
 * service's own wiring, then the servers. On SIGTERM it stops taking work, reports NOT_SERVING,
 * waits for in-flight work up to SHUTDOWN_TIMEOUT_MS, drains NATS, closes Mongo, exits 0.
 */
export async function runService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
  options: RunOptions = {},
): Promise<RunningService> {
  const env = options.env ?? process.env;
  const config = loadConfig(composeSchema(definition as ServiceDefinition<z.ZodObject>), env) as Readonly<
    z.infer<S> & KitConfig
  >;
  const logger = createLogger({
    service: definition.name,
    level: config.LOG_LEVEL,
    destination: options.logDestination,
  });
  const telemetry = startTelemetry({
    serviceName: definition.name,
    serviceVersion: definition.version,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampler: config.OTEL_TRACES_SAMPLER,
    samplerRatio: config.OTEL_TRACES_SAMPLER_ARG,
  });

  const consumers: RunningConsumer[] = [];
  const observedConsumers: ObservedConsumer[] = [];
  let stopObservingJetStream: (() => void) | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const hooks: Array<() => Promise<void> | void> = [];
  const readinessChecks = new Map<string, () => boolean | Promise<boolean>>();
  const stopping = new AbortController();
  let draining = false;
  let nats: NatsHandle | undefined;
  let mongo: MongoHandle | undefined;
  let grpc: GrpcServer | undefined;
  let authenticator: Authenticator | undefined;
  let http: HttpServer | undefined;

  const closeConnections = async () => {
    stopObservingJetStream?.();
    await nats?.connection.drain().catch((error: unknown) => logger.warn({ err: error }, 'nats drain failed'));
    await mongo?.close().catch((error: unknown) => logger.warn({ err: error }, 'mongo close failed'));
  };

  try {
    if (definition.nats) {
      nats = await connectNats({
        url: config.NATS_URL ?? '',
        name: definition.name,
        logger,
        credentials: { identity: definition.name, seed: await natsSeedFromConfig(config) },
      });
      // A service with an API publishes its audit entries: the stream must exist before the first change.
      const stale = await ensureStreams(nats.jsm, [
        ...definition.nats.streams,
        ...(definition.grpc ? [AUDIT_STREAM] : []),
      ]);
      if (stale.length)
        logger.warn({ streams: stale }, 'streams differ from their declaration; their owner updates them');
      // ensureStreams always adds the DLQ stream; its size is what the DLQ panel and alert watch.
      const streamNames = [...new Set([DLQ_STREAM.name, ...definition.nats.streams.map((stream) => stream.name)])];
      stopObservingJetStream = observeJetStream(
        nats,
        () => streamNames,
        () => observedConsumers,
        logger,
      );
    }
    if (definition.mongo) {
      mongo = await connectMongo({
        url: config.MONGO_URL ?? '',
        dbName: config.MONGO_DB ?? '',
        appName: definition.name,
      });
      await applyIndexes(mongo.db, definition.mongo.indexes);
    }
    if (definition.grpc) {
      authenticator = createAuthenticator({
        publicKeys: config.AUTH_PUBLIC_KEYS_FILE
          ? { file: config.AUTH_PUBLIC_KEYS_FILE }
          : parsePublicKeys(config.AUTH_PUBLIC_KEYS ?? '', 'AUTH_PUBLIC_KEYS'),
        issuer: config.AUTH_JWT_ISSUER ?? '',
        audience: config.AUTH_JWT_AUDIENCE ?? '',
        onKeyFileRejected: (error) =>
          logger.error({ err: error }, 'changed public key file not used; the keys read before still verify'),
      });
      const publisher = nats;
      grpc = new GrpcServer({
        authenticator,
        logger,
        reflectionProtos: definition.grpc.reflectionProtos,
        onAudited: createAuditRecorder({
          producer: definition.name,
          publish: publisher && ((event) => publishEvent(publisher, AuditEvents.recorded, event)),
          logger,
          track: (work) => context.track(work),
        }),
      });
    }

    const context: ServiceContext<z.infer<S>> = {
      config,
      logger,
      nats,
      mongo,
      grpc,
      authenticator,
      serviceToken: serviceTokenSource({
        service: definition.name,
        inline: config.AUTH_SERVICE_TOKEN,
        file: config.AUTH_SERVICE_TOKEN_FILE,
      }),
      consume: async (consumerOptions) => {
        if (!nats) throw new Error(`${definition.name} consumes events but its definition does not ask for nats`);
        const consumer = await startConsumer(nats, logger, {
          ...consumerOptions,
          handler: (message) => context.track(consumerOptions.handler(message)),
        });
        consumers.push(consumer);
        observedConsumers.push({ stream: consumerOptions.stream.name, durable: consumerOptions.durable });
        return consumer;
      },
      publish: (type, payload) => {
        if (!nats) throw new Error(`${definition.name} publishes events but its definition does not ask for nats`);
        return publishEvent(nats, type, payload);
      },
      track: (work) => {
        inFlight.add(work);
        const forget = () => inFlight.delete(work);
        work.then(forget, forget);
        return work;
      },
      onShutdown: (hook) => hooks.push(hook),
      stopping: stopping.signal,
      addReadinessCheck: (name, check) => readinessChecks.set(name, check),
    };
    await definition.start(context);

    http = await startHttpServer({
      host: config.BIND_HOST,
      port: config.HTTP_PORT,
      metrics: telemetry.metricsHandler,
      readiness: async () => {
        const checks: Record<string, boolean> = {};
        if (nats) checks['nats'] = nats.connected && nats.connection.info !== undefined;
        if (mongo) checks['mongo'] = await mongo.ping();
        for (const [name, check] of readinessChecks) checks[name] = await Promise.resolve(check()).catch(() => false);
        return { ready: !draining && Object.values(checks).every(Boolean), draining, checks };
      },
    });
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    await closeConnections();
    throw error;
  }

  const grpcPort = grpc ? await grpc.listen(config.BIND_HOST, config.GRPC_PORT ?? 0) : undefined;
  grpc?.setServing(true);
  let shutdownResult: Promise<number> | undefined;
  const shutdown = (reason: string) => {
    shutdownResult ??= (async () => {
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
      const remaining = () => Math.max(deadline - Date.now(), 0);
      draining = true;
      grpc?.setServing(false);
      logger.info({ reason, inFlight: inFlight.size }, 'draining');
      stopping.abort();
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        Promise.allSettled([...inFlight]).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), remaining()))),
      ]);
      clearTimeout(timer);
      if (!finished) logger.error({ inFlight: inFlight.size }, 'shutdown deadline passed with work still in flight');
      for (const hook of hooks.reverse()) {
        await Promise.resolve(hook()).catch((error: unknown) => logger.error({ err: error }, 'shutdown hook failed'));
      }
      await grpc?.shutdown(remaining());
      await closeConnections();
      await http?.close();
      await telemetry.shutdown().catch(() => undefined);
      logger.info({ clean: finished }, 'stopped');
      return finished ? 0 : 1;
    })();
    return shutdownResult;
  };

  if (options.handleSignals ?? true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void shutdown(signal).then((code) => {
          logger.flush();
          process.exit(code);
        });
      });
    }
  }

  // Only now: whoever waits for this line may send SIGTERM at once, and the log write can reach
  // them (on a libuv thread) before this thread would have installed the handlers.
  logger.info({ httpPort: http.port, grpcPort }, `${definition.name} ready`);
  return { logger, httpPort: http.port, grpcPort, shutdown };
}
