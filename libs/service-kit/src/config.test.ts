import { describe, expect, it } from 'vitest';
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

  it('says plainly when a required variable is missing', () => {
    expect(() => loadConfig(schema, {})).toThrow(
      /NATS_URL: is required but not set[\s\S]*AUTH_JWT_SECRET: is required/,
    );
  });
});
