import { describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_FILE } from './stack.js';
import { numberPlan, readTenant } from './tenant.js';

describe('the tenant as the stack loads it', () => {
  it('opens every site all week and drops local closing days when asked to, and not otherwise', async () => {
    const open = await readTenant(DEFAULT_TENANT_FILE, true);
    expect(open.document.tenant.closingDays).toEqual([]);
    for (const site of open.document.sites) {
      expect(site.openingHours).toHaveLength(7);
      expect(site.closingDays).toEqual([]);
    }
    expect(open.document.departments.every((department) => department.openingHours?.length === 0)).toBe(true);
    expect(open.document.departments.every((department) => department.closingDays?.length === 0)).toBe(true);
    expect(JSON.parse(open.text)).toEqual(open.document);
    const asIs = await readTenant(DEFAULT_TENANT_FILE, false);
    expect(asIs.document.tenant.closingDays?.length).toBeGreaterThan(0);
  });

  it('gives the adapter a number plan with every number and staff device of the tenant', async () => {
    const tenant = await readTenant(DEFAULT_TENANT_FILE, false);
    const plan = JSON.parse(numberPlan(tenant)) as {
      fallbackTenant: string;
      tenants: { tenantId: string; numberPrefixes: string[]; endpointPrefixes: string[] }[];
    };
    expect(plan.fallbackTenant).toBe('t-kropp');
    expect(plan.tenants[0]!.numberPrefixes).toContain('+494624720');
    expect(plan.tenants[0]!.endpointPrefixes).toContain('kropp-101');
    expect(plan.tenants[0]!.endpointPrefixes).toHaveLength(tenant.document.staff.length);
  });
});
