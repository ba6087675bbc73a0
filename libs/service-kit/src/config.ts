import { readFileSync } from 'node:fs';
import { parsePublicKeys } from '@switchboard/tokens';
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
    // A rule across variables names them all; no single value to show.
    if (issue.code === 'custom' && issue.params?.['acrossVariables']) return `${key}: ${issue.message}`;
    const missing = issue.path.length === 1 && env[key] === undefined;
    return missing ? `${key}: is required but not set` : `${key}: ${issue.message} (got ${shown(key, env[key] ?? '')})`;
  });
  throw new ConfigError(problems);
}

const SECRET_NAME = /SECRET|PASSWORD|TOKEN|CREDENTIAL|SEED|(^|_)KEYS?($|_)/i;

/** A bad value as the start log may show it: never a secret, nor the password inside a URL. */
function shown(key: string, value: string): string {
  if (SECRET_NAME.test(key)) return `a value of ${value.length} characters, not shown`;
  return `"${value.replace(/(\/\/[^/:@\s]*):[^@\s]*@/g, '$1:***@')}"`;
}

const port = z.coerce.number().int().min(0).max(65_535);
const positiveMs = z.coerce.number().int().positive();

/** The OpenTelemetry specification's names for `OTEL_TRACES_SAMPLER`. */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export type TraceSamplerName = (typeof TRACE_SAMPLERS)[number];

/**
 * Tracing, read by `instrument.ts` before anything else (telemetry starts before the service's
 * code loads) and again with the rest of the configuration. Traces are recorded only when an
 * endpoint is set; which ones, the sampler decides.
 */
export const telemetryConfigSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_TRACES_SAMPLER: z.enum(TRACE_SAMPLERS).default('parentbased_traceidratio'),
  /** The ratio of root traces the `*traceidratio` samplers keep; an empty value is the default. */
  OTEL_TRACES_SAMPLER_ARG: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce.number().min(0).max(1).default(1),
  ),
});

/** Variables every service reads. Services `.extend()` the fragments they need. */
export const baseConfigSchema = telemetryConfigSchema.extend({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of `/healthz`, `/readyz` and `/metrics`; 0 picks a free one (tests). */
  /** Interface the HTTP and gRPC servers bind; tests use 127.0.0.1. */
  BIND_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
  /** How long shutdown waits for in-flight calls and messages before it gives up. */
  SHUTDOWN_TIMEOUT_MS: positiveMs.default(30_000),
});

export const natsConfigSchema = z.object({
  NATS_URL: z
    .string()
    .regex(
      /^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/,
      'must be one or more nats:// URLs, comma-separated',
    ),
  /** This service's nkey seed (`SU…`, see libs/events' permissions), inline or in a file. */
  NATS_NKEY_SEED: z
    .string()
    .regex(/^\s*SU[A-Z2-7]{56}\s*$/, 'must be an nkey user seed (SU…, 58 characters)')
    .optional(),
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
});

/** NATS never connects anonymously: exactly one of the seed variables must be set. */
export function withNatsCredentialRule<S extends z.ZodObject>(schema: S): S {
  return schema.superRefine(
    (raw, context) => {
      const env = raw as Env;
      const inline = Boolean(env['NATS_NKEY_SEED']);
      const file = Boolean(env['NATS_NKEY_SEED_FILE']);
      if (inline && file) {
        context.addIssue({
          code: 'custom',
          path: ['NATS_NKEY_SEED, NATS_NKEY_SEED_FILE'],
          message: 'set one of them, not both',
          params: { acrossVariables: true },
        });
      } else if (!inline && !file) {
        context.addIssue({
          code: 'custom',
          path: ['NATS_NKEY_SEED or NATS_NKEY_SEED_FILE'],
          message: 'is required but not set (NATS never connects without credentials)',
          params: { acrossVariables: true },
        });
      }
    },
    { when: () => true },
  ) as S;
}

export const mongoConfigSchema = z.object({
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// connection string'),
  MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name (letters, digits, "-", "_")'),
});

/** A file the process must be able to read at start (a mounted Secret). */
const readableFile = z
  .string()
  .min(1)
  .refine(
    (path) => {
      try {
        readFileSync(path);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'cannot be read (missing file or no permission)' },
  );

const keySetProblem = (text: string, what: string): string | undefined => {
  try {
    parsePublicKeys(text, what);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

/**
 * How services check bearer tokens: the issuer's public keys (a JWKS document with one key, or two
 * during a rotation), inline in AUTH_PUBLIC_KEYS or in the file AUTH_PUBLIC_KEYS_FILE (re-read when
 * it changes). Services hold no signing key.
 */
export const grpcConfigSchema = z.object({
  GRPC_PORT: port.default(50051),
  AUTH_PUBLIC_KEYS: z
    .string()
    .superRefine((text, context) => {
      const problem = keySetProblem(text, 'the JWKS');
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  AUTH_PUBLIC_KEYS_FILE: readableFile
    .superRefine((path, context) => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return;
      }
      const problem = keySetProblem(text, `the JWKS in ${path}`);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  AUTH_JWT_ISSUER: z.string().min(1).default('switchboard'),
  AUTH_JWT_AUDIENCE: z.string().min(1).default('switchboard'),
});

/**
 * The service's own token for calling other services (`sb token --role service`), inline or in a
 * file that is re-read when it changes, so a renewed Secret takes effect without a restart.
 */
export const serviceTokenConfigSchema = z.object({
  AUTH_SERVICE_TOKEN: z
    .string()
    .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'must be a JWT (header.payload.signature), e.g. from `sb token --role service`')
    .optional(),
  AUTH_SERVICE_TOKEN_FILE: readableFile.optional(),
});

/**
 * The rules across variables of the auth fragments: exactly one source of public keys for a gRPC
 * service, at most one of the service token. Applied to the whole schema (so they are reported
 * together with every other problem).
 */
export function withAuthRules<S extends z.ZodObject>(schema: S, { grpc }: { grpc: boolean }): S {
  const set = (value: unknown) => typeof value === 'string' && value !== '';
  return schema.superRefine(
    (raw, context) => {
      const env = raw as Env;
      const pairs: Array<[string, boolean]> = [
        ['AUTH_PUBLIC_KEYS', grpc],
        ['AUTH_SERVICE_TOKEN', false],
      ];
      for (const [name, required] of pairs) {
        const inline = set(env[name]);
        const file = set(env[`${name}_FILE`]);
        if (inline && file) {
          context.addIssue({
            code: 'custom',
            path: [`${name}, ${name}_FILE`],
            message: 'set one of them, not both',
            params: { acrossVariables: true },
          });
        } else if (required && !inline && !file) {
          context.addIssue({
            code: 'custom',
            path: [`${name} or ${name}_FILE`],
            message: 'is required but not set',
            params: { acrossVariables: true },
          });
        }
      }
    },
    { when: () => true },
  ) as S;
}

export type BaseConfig = z.infer<typeof baseConfigSchema>;
export type NatsConfig = z.infer<typeof natsConfigSchema>;
export type MongoConfig = z.infer<typeof mongoConfigSchema>;
export type GrpcConfig = z.infer<typeof grpcConfigSchema>;
export type ServiceTokenConfig = z.infer<typeof serviceTokenConfigSchema>;
