import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';

export const BENCH_TENANT = 't-bench';
export const BENCH_NUMBER = '+493012345670';
export const BENCH_DEPARTMENT = 'service';
export const BENCH_DIGIT = '1';

export interface BenchTenantFiles {
  tenantFile: string;
  menusFile: string;
  devices: string[];
}

/**
 * A tenant made for measuring, not for the story: one IVR menu (a key to one department) in
 * front of `agents` staff with no wrap-up, so agents are free again as soon as a call ends and
 * the figures measure routing rather than a shortage of agents.
 */
export async function writeBenchTenant(directory: string, agents: number): Promise<BenchTenantFiles> {
  const staff = Array.from({ length: agents }, (_, index) => {
    const number = String(index + 1).padStart(4, '0');
    return {
      staffId: `a-${number}`,
      displayName: `Agent ${number}`,
      extension: `5${number}`,
      devices: [`bench-${number}`],
      siteId: 'hq',
    };
  });
  const tenant = {
    tenant: { tenantId: BENCH_TENANT, name: 'Benchmark', federalState: 'BE' },
    sites: [
      {
        siteId: 'hq',
        name: 'Bench HQ',
        address: { street: 'Teststraße 1', postalCode: '10115', city: 'Berlin' },
        headcount: agents,
      },
    ],
    numbers: [
      { number: BENCH_NUMBER, kind: 'main', siteId: 'hq', entryPoint: { kind: 'ivr-menu', target: 'bench-menu' } },
    ],
    departments: [
      {
        departmentId: BENCH_DEPARTMENT,
        name: 'Service',
        siteId: 'hq',
        members: staff.map((person) => ({ staffId: person.staffId })),
        wrapUpSeconds: 0,
        ringTimeoutSeconds: 20,
      },
    ],
    staff,
  };
  const menus = {
    menus: [
      {
        menuId: 'bench-menu',
        name: 'Bench',
        language: 'de-DE',
        entry: true,
        prompts: ['sound:switchboard/bench'],
        options: [{ digits: BENCH_DIGIT, target: { kind: 'TARGET_KIND_DEPARTMENT', ref: BENCH_DEPARTMENT } }],
        timeoutMs: 5_000,
        interDigitTimeoutMs: 2_000,
        bargeIn: true,
        maxRetries: 1,
        fallback: { kind: 'TARGET_KIND_DEPARTMENT', ref: BENCH_DEPARTMENT },
      },
    ],
  };
  const tenantFile = path.join(directory, 'bench-tenant.yaml');
  const menusFile = path.join(directory, 'bench-menus.yaml');
  await writeFile(tenantFile, stringify(tenant));
  await writeFile(menusFile, stringify(menus));
  return { tenantFile, menusFile, devices: staff.map((person) => person.devices[0]!) };
}
