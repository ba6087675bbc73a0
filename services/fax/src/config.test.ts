import { ConfigError, loadConfig } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { faxConfigSchema } from './config.js';

describe('fax config', () => {
  it('defaults the Fax API to port 50053 and parses the back-off list', () => {
    const config = loadConfig(faxConfigSchema, {
      SMTP_URL: 'smtp://mail.example:25',
      FAX_DELIVERY_BACKOFF_MS: '100,2000',
    });
    expect(config.GRPC_PORT).toBe(50_053);
    expect(config.FAX_DELIVERY_BACKOFF_MS).toEqual([100, 2_000]);
    expect(config.FAX_RETENTION_DEFAULT_DAYS).toBe(90);
  });

  it('names every bad variable at once', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig(faxConfigSchema, { SMTP_URL: 'http://mail', FAX_DELIVERY_BACKOFF_MS: '1s' });
    } catch (error) {
      problems = error instanceof ConfigError ? error.problems : [];
    }
    expect(problems).toEqual([
      'SMTP_URL: must be an smtp:// or smtps:// URL (got "http://mail")',
      'FAX_DELIVERY_BACKOFF_MS: must be a comma-separated list of milliseconds (got "1s")',
    ]);
  });
});
