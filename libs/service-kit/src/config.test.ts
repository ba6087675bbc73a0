import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, baseConfigSchema, grpcConfigSchema, loadConfig, natsConfigSchema } from './config.js';

const schema = baseConfigSchema.extend(natsConfigSchema.shape).extend(grpcConfigSchema.shape);
const goodEnv = {
  NATS_URL: 'nats://127.0.0.1:4222',
  AUTH_JWT_SECRET: 'x'.repeat(32),
};

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
          AUTH_JWT_SECRET: 'short',
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
    expect(error.message).not.toContain('short"');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain(`DEVICE_SECRET_KEY: `);
    expect(error.message).toContain(`a value of ${secret.length} characters, not shown`);
    expect(error.message).toContain('"smtp://mailer:***@mail.example:25"');
  });

  it('says plainly when a required variable is missing', () => {
    expect(() => loadConfig(schema, {})).toThrow(
      /NATS_URL: is required but not set[\s\S]*AUTH_JWT_SECRET: is required/,
    );
  });
});
