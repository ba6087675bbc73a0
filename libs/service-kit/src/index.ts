export {
  ConfigError,
  baseConfigSchema,
  grpcConfigSchema,
  loadConfig,
  mongoConfigSchema,
  natsConfigSchema,
  serviceTokenConfigSchema,
  type BaseConfig,
  type GrpcConfig,
  type MongoConfig,
  type NatsConfig,
  type ServiceTokenConfig,
} from './config.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';
export {
  AuthError,
  ROLES,
  SERVICE_TENANT,
  createAuthenticator,
  crossTenant,
  mayAccessTenant,
  type AuthSettings,
  type Authenticator,
  type Principal,
  type PublicKeySource,
  type Role,
} from './auth.js';
export {
  GrpcServer,
  GrpcStatusError,
  assertTenantAccess,
  currentPrincipal,
  type AuditedChange,
  type GrpcServerOptions,
} from './grpc-server.js';
export {
  definePolicy,
  describeGrant,
  type Grant,
  type MethodPolicy,
  type RequestOf,
  type ServicePolicy,
} from './policy.js';
export { startHttpServer, type HttpServer, type HttpServerOptions, type Readiness } from './http-server.js';
export {
  DuplicateKeyError,
  applyIndexes,
  connectMongo,
  withTypedErrors,
  type IndexDeclaration,
  type MongoHandle,
} from './mongo.js';
export {
  NatsCredentialsError,
  connectNats,
  ensureStreams,
  natsSeedFromConfig,
  type ConnectNatsOptions,
  type NatsCredentials,
  type NatsHandle,
} from './nats/connection.js';
export {
  DLQ_HEADERS,
  startConsumer,
  type AckMode,
  type ConsumerOptions,
  type DeliveredMessage,
  type RunningConsumer,
} from './nats/consumer.js';
export { mirrorKv, type KvMirror } from './nats/kv-mirror.js';
export { PoisonMessageError } from './nats/errors.js';
export { newEventMeta } from './nats/event-meta.js';
export { PUBLISH_OUTAGE_BUDGET_MS, publishEvent } from './nats/publish.js';
export {
  UNAVAILABLE_BACKOFF_MS,
  isUnavailable,
  retryWhileUnavailable,
  type RetryWhileUnavailableOptions,
} from './outage.js';
export { activeTraceContext, extractTraceContext } from './nats/trace-headers.js';
export {
  runService,
  type KitConfig,
  type RunOptions,
  type RunningService,
  type ServiceContext,
  type ServiceDefinition,
} from './service.js';
export {
  NotServedError,
  RPC_HEADERS,
  grpcImplementation,
  natsRpcClient,
  serveNatsRpc,
  type NatsRpcClientOptions,
  type RpcClient,
  type RpcHandlers,
  type ServeNatsRpcOptions,
} from './nats/rpc.js';
export { recordOutboundDenied, type OutboundPath } from './metrics.js';
export { KeyedCoalescer } from './keyed-coalescer.js';
