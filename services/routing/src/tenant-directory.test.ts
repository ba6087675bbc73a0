import { describe, expect, it } from 'vitest';
import { TenantView } from './tenant-directory.js';

const member = (staffId: string, extension: string, siteId: string, devices: string[]) => ({
  staffId,
  displayName: staffId,
  extension,
  devices,
  siteId,
  homeOffice: false,
  homeOfficeNumber: '',
});

const view = new TenantView('t1', {
  tenant: { tenantId: 't1', timeZone: 'Europe/Berlin' },
  sites: [{ siteId: 'rathaus' }, { siteId: 'schule' }, { siteId: 'bauhof' }],
  numbers: [
    { number: '+494624720', kind: 'main', siteId: 'rathaus' },
    { number: '+49462472', kind: 'direct-dial-range', siteId: 'schule' },
    { number: '+494624780', kind: 'main', siteId: 'schule' },
  ],
  departments: [
    {
      departmentId: 'zentrale',
      name: 'Zentrale',
      siteId: 'rathaus',
      strategy: 'longest-idle',
      requiredSkills: [],
      ringTimeoutSeconds: 20,
      wrapUpSeconds: 0,
      maxWaitSeconds: 300,
      overflow: { kind: 'none', target: '' },
    },
  ],
  staff: [member('anna', '1001', 'rathaus', ['kropp-1001']), member('lena', '2001', 'schule', ['kropp-2001'])],
});

describe('TenantView', () => {
  it('finds the calling staff member by device channel, else by extension', () => {
    expect(view.caller('PJSIP/kropp-2001-0000002a', '')?.staffId).toBe('lena');
    expect(view.caller('PJSIP/trunk-00000001', '1001')?.staffId).toBe('anna');
    expect(view.caller('PJSIP/trunk-00000001', '4711')).toBeUndefined();
  });

  it("uses the site's main number as caller id, else the tenant's first main number", () => {
    expect(view.callerIdFor('schule')).toBe('+494624780');
    expect(view.callerIdFor('bauhof')).toBe('+494624720');
  });

  it('picks the first configured fallback department the tenant has', () => {
    expect(view.fallbackDepartment(['fallback', 'zentrale'])?.departmentId).toBe('zentrale');
    expect(view.fallbackDepartment(['fallback'])).toBeUndefined();
  });
});
