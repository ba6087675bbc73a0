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
  tenant: {
    tenantId: 't1',
    timeZone: 'Europe/Berlin',
    federalState: 'SH',
    closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true, until: '' }],
  },
  sites: [
    {
      siteId: 'rathaus',
      openingHours: [{ day: 'mon', from: '08:00', to: '12:00' }],
      closingDays: [{ date: '2026-06-19', reason: 'Betriebsausflug', yearly: false, until: '' }],
    },
    { siteId: 'schule', openingHours: [], closingDays: [] },
    { siteId: 'bauhof', openingHours: [], closingDays: [] },
  ],
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
      openingHours: [],
      closingDays: [{ date: '2026-09-04', reason: 'Fortbildung', yearly: false, until: '' }],
      closedTarget: { kind: 'voicemail', target: 'zentrale' },
      callbackKey: '',
    },
    {
      departmentId: 'bauhof',
      name: 'Bauhof',
      siteId: 'bauhof',
      strategy: 'ring-all',
      requiredSkills: [],
      ringTimeoutSeconds: 20,
      wrapUpSeconds: 0,
      maxWaitSeconds: 300,
      overflow: { kind: 'none', target: '' },
      openingHours: [{ day: 'tue', from: '07:00', to: '15:00' }],
      closingDays: [],
      closedTarget: { kind: 'none', target: '' },
      callbackKey: '',
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

  it("gives a department its own hours or its site's, and every closing day that applies to it", () => {
    expect(view.schedule(view.department('zentrale')!)).toEqual({
      federalState: 'SH',
      timeZone: 'Europe/Berlin',
      openingHours: [{ day: 'mon', from: '08:00', to: '12:00' }],
      closingDays: [
        { date: '2026-12-24', reason: 'Heiligabend', yearly: true, until: '' },
        { date: '2026-06-19', reason: 'Betriebsausflug', yearly: false, until: '' },
        { date: '2026-09-04', reason: 'Fortbildung', yearly: false, until: '' },
      ],
    });
    expect(view.schedule(view.department('bauhof')!)).toMatchObject({
      openingHours: [{ day: 'tue', from: '07:00', to: '15:00' }],
      closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true, until: '' }],
    });
  });
});
