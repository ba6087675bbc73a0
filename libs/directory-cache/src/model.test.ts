import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1, directorySnapshotV1, directoryV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { isOpen, resolveNumber } from './lookups.js';
import { DirectoryModel } from './model.js';

// The directory's ResolveNumber and IsOpen rules on a snapshot built here; the directory's
// service test runs the same cases over NATS against the demo tenant.

const { EntryPointKind, NumberKind, Weekday } = directoryV1;
const { OpenState } = directoryServiceV1;

const snapshot = directorySnapshotV1.TenantSnapshot.fromPartial({
  tenantId: 't-kropp',
  revision: '7',
  tenant: {
    tenantId: 't-kropp',
    federalState: 'SH',
    timeZone: 'Europe/Berlin',
    closingDays: [{ date: '2026-12-24', reason: 'Heiligabend', yearly: true }],
  },
  sites: [
    {
      siteId: 'amt-kropp',
      openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' }],
      closingDays: [{ date: '2026-06-19', reason: 'Betriebsausflug' }],
    },
    { siteId: 'kita', openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '07:00', to: '16:00' }] },
  ],
  numbers: [
    {
      number: '+494624720',
      kind: NumberKind.NUMBER_KIND_MAIN,
      siteId: 'amt-kropp',
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
    },
    {
      number: '+49462472',
      kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
      rangeDigits: 3,
      siteId: 'amt-kropp',
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'zentrale' },
    },
    // A longer prefix inside the first range: it wins for its numbers.
    {
      number: '+494624729',
      kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
      rangeDigits: 2,
      siteId: 'kita',
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'kita-verwaltung' },
    },
    {
      number: '+4946247299',
      kind: NumberKind.NUMBER_KIND_FAX,
      siteId: 'amt-kropp',
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT, target: 'buergerbuero' },
    },
  ],
  departments: [
    { departmentId: 'zentrale', siteId: 'amt-kropp' },
    {
      departmentId: 'standesamt',
      siteId: 'amt-kropp',
      openingHours: [{ day: Weekday.WEEKDAY_FRIDAY, from: '08:00', to: '12:00' }],
      closingDays: [{ date: '2026-09-04', reason: 'Fortbildung Standesamt' }],
    },
  ],
  staff: [
    { staffId: 's-101', extension: '101', siteId: 'kita', devices: ['kropp-101'] },
    { staffId: 's-102', extension: '102', siteId: '' },
  ],
});
const model = new DirectoryModel(snapshot);
const resolve = (number: string) => resolveNumber(model, { tenantId: 't-kropp', number });
const open = (fields: Partial<directoryServiceV1.IsOpenRequest>, iso: string) =>
  isOpen(model, { tenantId: 't-kropp', departmentId: '', siteId: '', ...fields, at: new Date(iso) });

function statusOf(work: () => unknown): { code: number; details: string } {
  try {
    work();
  } catch (error) {
    const { code, details } = error as { code: number; details: string };
    return { code, details };
  }
  throw new Error('no error');
}

describe('resolveNumber', () => {
  it('answers a main number with its entry point and site', () => {
    expect(resolve('+494624720')).toEqual({
      tenantId: 't-kropp',
      matchedNumber: '+494624720',
      kind: NumberKind.NUMBER_KIND_MAIN,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
      siteId: 'amt-kropp',
      staffId: '',
    });
  });

  it("sends a direct-dial call to the staff member's extension and site, else the range's entry point", () => {
    expect(resolve('+49462472101')).toEqual({
      tenantId: 't-kropp',
      matchedNumber: '+49462472',
      kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: '101' },
      siteId: 'kita',
      staffId: 's-101',
    });
    // Someone without a site keeps the range's.
    expect(resolve('+49462472102')).toMatchObject({ siteId: 'amt-kropp', staffId: 's-102' });
    expect(resolve('+49462472555')).toMatchObject({
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'zentrale' },
      staffId: '',
    });
  });

  it('takes the longest range prefix, needs the exact length and prefers an exact number', () => {
    expect(resolve('+49462472910')).toMatchObject({ matchedNumber: '+494624729', siteId: 'kita' });
    expect(resolve('+4946247299')).toMatchObject({
      kind: NumberKind.NUMBER_KIND_FAX,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT, target: 'buergerbuero' },
    });
    expect(statusOf(() => resolve('+494624721011'))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: '+494624721011 is not a number of tenant t-kropp',
    });
  });

  it('answers NOT_FOUND for an unknown number or tenant and INVALID_ARGUMENT for none', () => {
    expect(statusOf(() => resolve('+4940123456'))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: '+4940123456 is not a number of tenant t-kropp',
    });
    expect(statusOf(() => resolveNumber(undefined, { tenantId: 't-x', number: '+494624720' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: '+494624720 is not a number of tenant t-x',
    });
    expect(statusOf(() => resolve('')).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('isOpen', () => {
  it("uses a department's own hours or its site's, with every closing day that applies", () => {
    // Monday 2026-07-06, 08:00 in Kropp (summer time).
    expect(open({ departmentId: 'zentrale' }, '2026-07-06T06:00:00Z')).toEqual({
      state: OpenState.OPEN_STATE_OPEN,
      reason: '',
      localTime: '2026-07-06T08:00',
    });
    expect(open({ departmentId: 'standesamt' }, '2026-07-06T06:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_CLOSED,
      reason: 'outside opening hours',
    });
    expect(open({ departmentId: 'standesamt' }, '2026-09-04T08:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: 'closing day: Fortbildung Standesamt',
    });
    // The site's closing day closes the department on the site's hours as well.
    expect(open({ departmentId: 'standesamt' }, '2026-06-19T08:00:00Z').reason).toBe('closing day: Betriebsausflug');
    expect(open({ siteId: 'kita' }, '2027-12-24T08:00:00Z').reason).toBe('closing day: Heiligabend');
    expect(open({ siteId: 'kita' }, '2026-10-31T08:00:00Z').reason).toBe('Reformationstag');
  });

  it('keeps one schedule object per department and site (opening-hours keeps its answers per object)', () => {
    const zentrale = model.departments.get('zentrale')!;
    expect(model.departmentSchedule(zentrale)).toBe(model.departmentSchedule(zentrale));
    const kita = model.sites.get('kita')!;
    expect(model.siteSchedule(kita)).toBe(model.siteSchedule(kita));
  });

  it('refuses a request naming neither or both, and unknown departments, sites and tenants', () => {
    expect(statusOf(() => open({}, '2026-07-06T06:00:00Z'))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'department_id, site_id: exactly one is required',
    });
    expect(statusOf(() => open({ departmentId: 'zentrale', siteId: 'kita' }, '2026-07-06T06:00:00Z')).code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    expect(statusOf(() => open({ departmentId: 'nope' }, '2026-07-06T06:00:00Z'))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'department nope not found in tenant t-kropp',
    });
    expect(statusOf(() => open({ siteId: 'nope' }, '2026-07-06T06:00:00Z')).code).toBe(grpc.status.NOT_FOUND);
    expect(
      statusOf(() => isOpen(undefined, { tenantId: 't-x', departmentId: 'zentrale', siteId: '', at: undefined })),
    ).toEqual({ code: grpc.status.NOT_FOUND, details: 'tenant t-x not found' });
  });
});

describe('DirectoryModel', () => {
  it('indexes staff by id, extension and device', () => {
    expect(model.staffByDevice.get('kropp-101')?.staffId).toBe('s-101');
    expect(model.staffByExtension.get('102')?.staffId).toBe('s-102');
    expect(model.staffById.get('s-101')?.extension).toBe('101');
  });
});
