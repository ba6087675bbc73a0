import { describe, expect, it } from 'vitest';
import { adapterConfigSchema } from './config.js';
import { TenantResolver, endpointOfChannelName } from './tenant-resolver.js';

const plan = {
  fallbackTenant: 'provider',
  tenants: [
    { tenantId: 't-kropp', numberPrefixes: ['+49462480', '+4946248'], endpointPrefixes: ['kropp-'] },
    { tenantId: 't-kropp-fax', numberPrefixes: ['+494624809'], endpointPrefixes: [] },
    { tenantId: 't-husum', numberPrefixes: ['+494841'], endpointPrefixes: ['husum-'] },
  ],
};

describe('TenantResolver', () => {
  const resolver = new TenantResolver(plan);

  it('takes the longest matching number prefix', () => {
    expect(resolver.resolve('+494624800', undefined)).toEqual({ tenantId: 't-kropp', matched: true });
    expect(resolver.resolve('+4946248099', undefined)).toEqual({ tenantId: 't-kropp-fax', matched: true });
    expect(resolver.resolve('+494841123', undefined)).toEqual({ tenantId: 't-husum', matched: true });
  });

  it("puts a device's calls in the device's tenant, whatever it dials", () => {
    expect(resolver.resolve('+494841123', 'kropp-1001')).toEqual({ tenantId: 't-kropp', matched: true });
    expect(resolver.resolve('1002', 'husum-2001')).toEqual({ tenantId: 't-husum', matched: true });
  });

  it("matches the directory's devices exactly, before any endpoint prefix", () => {
    const fromDirectory = new TenantResolver({
      fallbackTenant: 'provider',
      tenants: [
        { tenantId: 't-kropp', numberPrefixes: ['+494624720'], devices: ['amt-1'] },
        { tenantId: 't-husum', numberPrefixes: [], devices: ['amt-10'] },
      ],
    });
    expect(fromDirectory.resolve('+494841123', 'amt-10')).toEqual({ tenantId: 't-husum', matched: true });
    expect(fromDirectory.resolve('+494624720', 'amt-100')).toEqual({ tenantId: 't-kropp', matched: true });
    expect(fromDirectory.resolve('+494841123', 'amt-100')).toEqual({ tenantId: 'provider', matched: false });
    expect(fromDirectory.ownerOf('amt-1')).toBe('t-kropp');
  });

  it('gives unclaimed calls to the fallback tenant', () => {
    expect(resolver.resolve('+4930123456', 'carrier')).toEqual({ tenantId: 'provider', matched: false });
  });

  it('reads the endpoint out of a channel name', () => {
    expect(endpointOfChannelName('PJSIP/kropp-1001-0000002a')).toBe('kropp-1001');
    expect(endpointOfChannelName('PJSIP/carrier-00000002')).toBe('carrier');
    expect(endpointOfChannelName('Local/1000@test-00000003;1')).toBeUndefined();
  });
});

describe('NUMBER_PLAN', () => {
  const env = { ARI_URL: 'http://127.0.0.1:8088', ARI_USERNAME: 'u', ARI_PASSWORD: 'p' };

  it('parses a JSON number plan', () => {
    const config = adapterConfigSchema.parse({ ...env, NUMBER_PLAN: JSON.stringify(plan) });
    expect(config.NUMBER_PLAN?.tenants[0]?.numberPrefixes).toEqual(['+49462480', '+4946248']);
  });

  it('names what is wrong in a broken plan', () => {
    const result = adapterConfigSchema.safeParse({
      ...env,
      NUMBER_PLAN: JSON.stringify({ fallbackTenant: 'p', tenants: [{ tenantId: 't.a', numberPrefixes: ['0462'] }] }),
    });
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((issue) => issue.message).join('\n');
    expect(messages).toMatch(/tenants.0.tenantId/);
    expect(messages).toMatch(/tenants.0.numberPrefixes.0: must be an E.164 prefix/);
    expect(adapterConfigSchema.safeParse({ ...env, NUMBER_PLAN: '{not json' }).error?.issues[0]?.message).toMatch(
      /is not JSON/,
    );
  });
});
