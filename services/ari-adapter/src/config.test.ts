import { ConfigError, loadConfig } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { adapterConfigSchema } from './config.js';

const env = {
  ARI_URL: 'http://asterisk:8088',
  ARI_USERNAME: 'switchboard',
  ARI_PASSWORD: 'secret',
  NUMBER_PLAN: JSON.stringify({ fallbackTenant: 'provider' }),
};

describe('adapter config', () => {
  it('reconciles every 30 s, waits 5 s for a StasisStart and 10 s for an ARI answer by default', () => {
    expect(loadConfig(adapterConfigSchema, env)).toMatchObject({
      RECONCILE_INTERVAL_MS: 30_000,
      STASIS_START_TIMEOUT_MS: 5_000,
      ARI_REQUEST_TIMEOUT_MS: 10_000,
    });
    expect(loadConfig(adapterConfigSchema, { ...env, RECONCILE_INTERVAL_MS: '250' }).RECONCILE_INTERVAL_MS).toBe(250);
  });

  it('refuses an interval that would list every channel all the time, and timeouts that are no number', () => {
    const load = () =>
      loadConfig(adapterConfigSchema, {
        ...env,
        RECONCILE_INTERVAL_MS: '10',
        STASIS_START_TIMEOUT_MS: 'soon',
        ARI_REQUEST_TIMEOUT_MS: '0',
      });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/RECONCILE_INTERVAL_MS[\s\S]*STASIS_START_TIMEOUT_MS[\s\S]*ARI_REQUEST_TIMEOUT_MS/);
  });
});
