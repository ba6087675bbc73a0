import { ConfigError, loadConfig } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { presenceConfigSchema } from './config.js';

describe('presence config', () => {
  it('defaults the Presence API to port 50057, bucket `presence` and a 30 s lease', () => {
    const config = loadConfig(presenceConfigSchema, {});
    expect(config).toMatchObject({ GRPC_PORT: 50_057, PRESENCE_BUCKET: 'presence', PRESENCE_LEASE_SECONDS: 30 });
  });

  it('refuses a bucket name that is no subject token and a lease out of range', () => {
    const error = (() => {
      try {
        return loadConfig(presenceConfigSchema, { PRESENCE_BUCKET: 'presence.eu', PRESENCE_LEASE_SECONDS: '0' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.split(':')[0])).toEqual([
      'PRESENCE_BUCKET',
      'PRESENCE_LEASE_SECONDS',
    ]);
  });
});
