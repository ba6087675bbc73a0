import { DirectoryModel } from '@switchboard/directory-cache';
import { directorySnapshotV1, directoryV1 } from '@switchboard/proto';
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
      closingDays: [
        {
          date: '2026-06-19',
          reason: 'Betriebsausflug',
          yearly: false,
          until: '',
        },
      ],
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
        {
          date: '2026-06-19',
          reason: 'Betriebsausflug',
          yearly: false,
          until: '',
        },
        { date: '2026-09-04', reason: 'Fortbildung', yearly: false, until: '' },
      ],
    });
    expect(view.schedule(view.department('bauhof')!)).toMatchObject({
      openingHours: [{ day: 'tue', from: '07:00', to: '15:00' }],
      closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true, until: '' }],
    });
  });
});

describe('TenantView.fromModel', () => {
  const { EntryPointKind, NumberKind, OverflowKind, Strategy, Weekday } = directoryV1;
  const snapshot = directorySnapshotV1.TenantSnapshot.fromPartial({
    tenantId: 't1',
    revision: '3',
    tenant: {
      tenantId: 't1',
      timeZone: 'Europe/Berlin',
      federalState: 'SH',
      closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true }],
      outboundPolicy: { allowPremium: false, barInternational: false },
    },
    sites: [
      {
        siteId: 'rathaus',
        openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' }],
        closingDays: [{ date: '2026-06-19', reason: 'Betriebsausflug' }],
      },
      { siteId: 'bauhof', outboundOverride: { barInternational: true } },
    ],
    numbers: [
      {
        number: '+494624720',
        kind: NumberKind.NUMBER_KIND_MAIN,
        siteId: 'rathaus',
      },
      {
        number: '+49462472',
        kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
        rangeDigits: 4,
        siteId: 'rathaus',
        entryPoint: {
          kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT,
          target: 'zentrale',
        },
      },
    ],
    departments: [
      {
        departmentId: 'zentrale',
        name: 'Zentrale',
        siteId: 'rathaus',
        members: [{ staffId: 'anna', priority: 1 }],
        ringTimeoutSeconds: 20,
        maxWaitSeconds: 300,
        overflow: {
          kind: OverflowKind.OVERFLOW_KIND_DEPARTMENT,
          target: 'bauhof',
        },
        closedTarget: {
          kind: OverflowKind.OVERFLOW_KIND_VOICEMAIL,
          target: 'zentrale',
        },
        closingDays: [{ date: '2026-09-04', reason: 'Fortbildung' }],
        callbackKey: '5',
      },
      {
        departmentId: 'bauhof',
        name: 'Bauhof',
        siteId: 'bauhof',
        strategy: Strategy.STRATEGY_RING_ALL,
        openingHours: [{ day: Weekday.WEEKDAY_TUESDAY, from: '07:00', to: '15:00' }],
      },
    ],
    staff: [
      {
        staffId: 'anna',
        displayName: 'Anna',
        extension: '1001',
        siteId: 'rathaus',
        devices: ['kropp-1001'],
      },
      {
        staffId: 'lena',
        displayName: 'Lena',
        extension: '2001',
        siteId: 'bauhof',
        homeOffice: true,
        homeOfficeNumber: '+4915112345678',
      },
    ],
  });
  const fromSnapshot = TenantView.fromModel(new DirectoryModel(snapshot));

  it('gives the departments their settings with the names routing uses', () => {
    expect(fromSnapshot.department('zentrale')).toEqual({
      departmentId: 'zentrale',
      name: 'Zentrale',
      siteId: 'rathaus',
      strategy: 'longest-idle',
      requiredSkills: [],
      ringTimeoutSeconds: 20,
      wrapUpSeconds: 0,
      maxWaitSeconds: 300,
      overflow: { kind: 'department', target: 'bauhof' },
      openingHours: [],
      closingDays: [{ date: '2026-09-04', reason: 'Fortbildung', yearly: false, until: '' }],
      closedTarget: { kind: 'voicemail', target: 'zentrale' },
      callbackKey: '5',
    });
    expect(fromSnapshot.department('bauhof')).toMatchObject({
      strategy: 'ring-all',
      overflow: { kind: 'none', target: '' },
      openingHours: [{ day: 'tue', from: '07:00', to: '15:00' }],
    });
  });

  it("answers staff, caller id, schedules and the outbound policy like a view of the same tenant's document", () => {
    expect(fromSnapshot.staffById('lena')).toEqual({
      staffId: 'lena',
      displayName: 'Lena',
      extension: '2001',
      devices: [],
      siteId: 'bauhof',
      homeOffice: true,
      homeOfficeNumber: '+4915112345678',
    });
    expect(fromSnapshot.staffByExtension('1001')?.staffId).toBe('anna');
    expect(fromSnapshot.caller('PJSIP/kropp-1001-0000002a', '')?.staffId).toBe('anna');
    expect(fromSnapshot.callerIdFor('bauhof')).toBe('+494624720');
    expect(fromSnapshot.schedule(fromSnapshot.department('zentrale')!)).toEqual(
      view.schedule(view.department('zentrale')!),
    );
    expect(fromSnapshot.checkOutbound('+442079460958', 'bauhof')).toMatchObject({ allowed: false });
    expect(fromSnapshot.checkOutbound('+442079460958', 'rathaus')).toMatchObject({ allowed: true });
    expect(fromSnapshot.checkOutbound('+499001234567', 'rathaus')).toMatchObject({ allowed: false });
    expect(fromSnapshot.fallbackDepartment(['fallback', 'bauhof'])?.departmentId).toBe('bauhof');
  });
});
