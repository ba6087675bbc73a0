import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testTokens } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  baseConfigSchema,
  grpcConfigSchema,
  loadConfig,
  natsConfigSchema,
  serviceTokenConfigSchema,
  withAuthRules,
} from './config.js';

const schema = withAuthRules(
  baseConfigSchema.extend(natsConfigSchema.shape).extend(grpcConfigSchema.shape).extend(serviceTokenConfigSchema.shape),
  { grpc: true },
);
const tokens = testTokens();
const goodEnv = {
  NATS_URL: 'nats://127.0.0.1:4222',
  ...tokens.env,
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(schema, env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns typed, frozen values with defaults', () => {
    const config = loadConfig(schema, { ...goodEnv, HTTP_PORT: '9100' });
    expect(config.HTTP_PORT).toBe(9100);
    expect(config.GRPC_PORT).toBe(50051);
    expect(config.LOG_LEVEL).toBe('info');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names all three bad variables in one error', () => {
    let error: unknown;
    try {
      loadConfig(schema, { ...goodEnv, HTTP_PORT: 'eighty', NATS_URL: 'localhost:4222', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems).toHaveLength(3);
    expect(configError.message).toMatch(/3 problems/);
    for (const name of ['HTTP_PORT', 'NATS_URL', 'LOG_LEVEL']) expect(configError.message).toContain(name);
  });

  it('never shows a bad secret, nor the password in a bad URL', () => {
    const secret = 'not-hex-but-very-secret';
    const withSecrets = schema.extend({
      DEVICE_SECRET_KEY: z.string().regex(/^[0-9a-f]{64}$/),
      SMTP_URL: z.url().startsWith('smtps://'),
    });
    const error = (() => {
      try {
        loadConfig(withSecrets, {
          ...goodEnv,
          AUTH_PUBLIC_KEYS: '{"keys": "short"}',
          DEVICE_SECRET_KEY: secret,
          SMTP_URL: 'smtp://mailer:hunter2@mail.example:25',
        });
      } catch (thrown) {
        return thrown as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems).toHaveLength(3);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('short');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain(`DEVICE_SECRET_KEY: `);
    expect(error.message).toContain(`a value of ${secret.length} characters, not shown`);
    expect(error.message).toContain('"smtp://mailer:***@mail.example:25"');
  });

  it('says plainly when a required variable is missing', () => {
    expect(() => loadConfig(schema, {})).toThrow(
      /NATS_URL: is required but not set[\s\S]*AUTH_PUBLIC_KEYS or AUTH_PUBLIC_KEYS_FILE: is required but not set/,
    );
  });

  it('reads the trace sampler by its OpenTelemetry name, with a ratio of 0 to 1 (default: all, parent-based)', () => {
    expect(loadConfig(schema, goodEnv)).toMatchObject({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: 1,
    });
    expect(
      loadConfig(schema, { ...goodEnv, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.05' }),
    ).toMatchObject({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.05 });
    // A chart that leaves the ratio empty means the default, not 0.
    expect(loadConfig(schema, { ...goodEnv, OTEL_TRACES_SAMPLER_ARG: ' ' }).OTEL_TRACES_SAMPLER_ARG).toBe(1);
    expect(problemsOf({ ...goodEnv, OTEL_TRACES_SAMPLER: 'ratio', OTEL_TRACES_SAMPLER_ARG: '5' })).toEqual([
      expect.stringMatching(/^OTEL_TRACES_SAMPLER: .*"always_on".*"parentbased_traceidratio".* \(got "ratio"\)$/),
      expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG: .*1.* \(got "5"\)$/),
    ]);
  });

  describe('auth', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'sb-config-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('takes the public keys inline or from a file, and the service token either way', async () => {
      const file = path.join(dir, 'jwks.json');
      await writeFile(file, tokens.env.AUTH_PUBLIC_KEYS);
      const token = await tokens.serviceToken('ari-adapter');
      expect(loadConfig(schema, { ...goodEnv, AUTH_SERVICE_TOKEN: token }).AUTH_SERVICE_TOKEN).toBe(token);
      const fromFile = loadConfig(schema, { NATS_URL: goodEnv.NATS_URL, AUTH_PUBLIC_KEYS_FILE: file });
      expect(fromFile.AUTH_PUBLIC_KEYS_FILE).toBe(file);
    });

    it('says what is wrong with the keys, together with every other problem', async () => {
      const privateKeys = path.join(dir, 'private.json');
      await writeFile(privateKeys, JSON.stringify({ keys: [tokens.signingKey] }));
      expect(problemsOf({ ...goodEnv, AUTH_PUBLIC_KEYS: '{"keys": [' })).toEqual([
        expect.stringMatching(
          /^AUTH_PUBLIC_KEYS: the JWKS is not JSON: .* \(got a value of 10 characters, not shown\)$/,
        ),
      ]);
      expect(problemsOf({ NATS_URL: goodEnv.NATS_URL, AUTH_PUBLIC_KEYS_FILE: privateKeys })).toEqual([
        expect.stringMatching(
          /^AUTH_PUBLIC_KEYS_FILE: the JWKS in .*private.json: key 1 \(kid "[^"]+"\) is a private key/,
        ),
      ]);
      expect(problemsOf({ NATS_URL: goodEnv.NATS_URL, AUTH_PUBLIC_KEYS_FILE: path.join(dir, 'missing.json') })).toEqual(
        [expect.stringMatching(/^AUTH_PUBLIC_KEYS_FILE: cannot be read \(missing file or no permission\)/)],
      );
      expect(
        problemsOf({ ...goodEnv, AUTH_PUBLIC_KEYS_FILE: privateKeys, AUTH_SERVICE_TOKEN: 'nope', HTTP_PORT: 'x' }),
      ).toEqual([
        expect.stringMatching(/^HTTP_PORT: /),
        expect.stringMatching(/^AUTH_PUBLIC_KEYS_FILE: /),
        expect.stringMatching(/^AUTH_SERVICE_TOKEN: must be a JWT/),
        'AUTH_PUBLIC_KEYS, AUTH_PUBLIC_KEYS_FILE: set one of them, not both',
      ]);
    });
  });
});
