import { ConfigError, loadConfig } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { adapterConfigSchema, tenantSource } from './config.js';

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

  it('takes the number plan from the directory with DIRECTORY_ADDRESS, else from NUMBER_PLAN, never from both', () => {
    const load = (extra: Record<string, string>, without: string[] = []) =>
      tenantSource(
        loadConfig(
          adapterConfigSchema,
          Object.fromEntries(Object.entries({ ...env, ...extra }).filter(([key]) => !without.includes(key))),
        ),
      );
    expect(load({})).toMatchObject({ kind: 'static', plan: { fallbackTenant: 'provider' } });
    const directory = { DIRECTORY_ADDRESS: 'directory:50054', FALLBACK_TENANT: 't-kropp' };
    expect(load(directory, ['NUMBER_PLAN'])).toEqual({
      kind: 'directory',
      address: 'directory:50054',
      fallbackTenant: 't-kropp',
    });
    expect(() => load(directory)).toThrow(/NUMBER_PLAN: must not be set with DIRECTORY_ADDRESS/);
    expect(() => load({ DIRECTORY_ADDRESS: 'directory:50054' }, ['NUMBER_PLAN'])).toThrow(
      /FALLBACK_TENANT: is required with DIRECTORY_ADDRESS/,
    );
    expect(() => load({}, ['NUMBER_PLAN'])).toThrow(/NUMBER_PLAN: is required without DIRECTORY_ADDRESS/);
    expect(() => load({ FALLBACK_TENANT: 't-kropp' })).toThrow(ConfigError);
  });
});
