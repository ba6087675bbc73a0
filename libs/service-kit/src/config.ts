import { z } from 'zod';

/** A configuration that failed validation; the message lists every problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
  }
}

type Env = Record<string, string | undefined>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates environment variables against a zod object schema (keys are the variable names) and
 * returns a typed, deeply frozen config. Throws one ConfigError naming every bad or missing one.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): Readonly<z.infer<S>> {
  const result = schema.safeParse(env);
  if (result.success) return deepFreeze(result.data);
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const missing = issue.path.length === 1 && env[key] === undefined;
    return missing ? `${key}: is required but not set` : `${key}: ${issue.message} (got ${shown(key, env[key] ?? '')})`;
  });
  throw new ConfigError(problems);
}

const SECRET_NAME = /SECRET|PASSWORD|TOKEN|CREDENTIAL|(^|_)KEYS?($|_)/i;

/** A bad value as the start log may show it: never a secret, nor the password inside a URL. */
function shown(key: string, value: string): string {
  if (SECRET_NAME.test(key)) return `a value of ${value.length} characters, not shown`;
  return `"${value.replace(/(\/\/[^/:@\s]*):[^@\s]*@/g, '$1:***@')}"`;
}

const port = z.coerce.number().int().min(0).max(65_535);
const positiveMs = z.coerce.number().int().positive();

/** Variables every service reads. Services `.extend()` the fragments they need. */
export const baseConfigSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of `/healthz`, `/readyz` and `/metrics`; 0 picks a free one (tests). */
  /** Interface the HTTP and gRPC servers bind; tests use 127.0.0.1. */
  BIND_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
  /** How long shutdown waits for in-flight calls and messages before it gives up. */
  SHUTDOWN_TIMEOUT_MS: positiveMs.default(30_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
});

export const natsConfigSchema = z.object({
  NATS_URL: z
    .string()
    .regex(
      /^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/,
      'must be one or more nats:// URLs, comma-separated',
    ),
});

export const mongoConfigSchema = z.object({
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// connection string'),
  MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name (letters, digits, "-", "_")'),
});

export const grpcConfigSchema = z.object({
  GRPC_PORT: port.default(50051),
  /** HS256 secret shared by the token issuer and every service; at least 32 characters. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  AUTH_JWT_ISSUER: z.string().min(1).default('switchboard'),
  AUTH_JWT_AUDIENCE: z.string().min(1).default('switchboard'),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;
export type NatsConfig = z.infer<typeof natsConfigSchema>;
export type MongoConfig = z.infer<typeof mongoConfigSchema>;
export type GrpcConfig = z.infer<typeof grpcConfigSchema>;
