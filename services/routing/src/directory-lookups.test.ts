import * as grpc from '@grpc/grpc-js';
import { DirectoryModel } from '@switchboard/directory-cache';
import { directoryServiceV1, directorySnapshotV1, directoryV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { directoryLookups } from './directory-lookups.js';

const { EntryPointKind, NumberKind, Weekday } = directoryV1;
const { OpenState } = directoryServiceV1;

const model = new DirectoryModel(
  directorySnapshotV1.TenantSnapshot.fromPartial({
    tenantId: 't1',
    tenant: { tenantId: 't1', federalState: 'SH', timeZone: 'Europe/Berlin' },
    sites: [{ siteId: 'rathaus', openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' }] }],
    numbers: [
      {
        number: '+494624720',
        kind: NumberKind.NUMBER_KIND_MAIN,
        siteId: 'rathaus',
        entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
      },
      {
        number: '+49462472',
        kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
        rangeDigits: 4,
        siteId: 'rathaus',
        entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'zentrale' },
      },
    ],
    departments: [{ departmentId: 'zentrale', siteId: 'rathaus' }],
    staff: [{ staffId: 'anna', extension: '1001', siteId: 'rathaus' }],
  }),
);

// The tenant directory's answers: t1 has a snapshot, t-gone does not exist, t-down cannot be asked for.
const lookups = directoryLookups({
  async model(tenantId) {
    if (tenantId === 't1') return model;
    if (tenantId === 't-down') throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'no directory answered');
    throw new GrpcStatusError(grpc.status.NOT_FOUND, `tenant ${tenantId} not found`);
  },
});

describe('directoryLookups', () => {
  it('resolves a number like the directory, direct-dial extensions to the staff member', async () => {
    expect(await lookups.resolveNumber({ tenantId: 't1', number: '+494624720' })).toEqual({
      tenantId: 't1',
      matchedNumber: '+494624720',
      kind: NumberKind.NUMBER_KIND_MAIN,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
      siteId: 'rathaus',
      staffId: '',
    });
    expect(await lookups.resolveNumber({ tenantId: 't1', number: '+494624721001' })).toMatchObject({
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: '1001' },
      staffId: 'anna',
    });
  });

  it('rejects an unknown number, and a number of an unknown tenant, with NOT_FOUND as the directory does', async () => {
    await expect(lookups.resolveNumber({ tenantId: 't1', number: '+4940123456' })).rejects.toEqual(
      new GrpcStatusError(grpc.status.NOT_FOUND, '+4940123456 is not a number of tenant t1'),
    );
    await expect(lookups.resolveNumber({ tenantId: 't-gone', number: '+494624720' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: '+494624720 is not a number of tenant t-gone',
    });
    await expect(
      lookups.isOpen({ tenantId: 't-gone', departmentId: 'zentrale', siteId: '', at: undefined }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: 'tenant t-gone not found' });
  });

  it('passes on that the directory could not be asked, which the call flow treats as unavailable', async () => {
    await expect(lookups.resolveNumber({ tenantId: 't-down', number: '+494624720' })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  it('answers IsOpen for a department or a site at an instant', async () => {
    // Monday 2026-07-06, 08:00 in Kropp.
    const at = new Date('2026-07-06T06:00:00Z');
    expect(await lookups.isOpen({ tenantId: 't1', departmentId: 'zentrale', siteId: '', at })).toEqual({
      state: OpenState.OPEN_STATE_OPEN,
      reason: '',
      localTime: '2026-07-06T08:00',
    });
    expect(
      (
        await lookups.isOpen({
          tenantId: 't1',
          departmentId: '',
          siteId: 'rathaus',
          at: new Date('2026-07-07T06:00:00Z'),
        })
      ).state,
    ).toBe(OpenState.OPEN_STATE_CLOSED);
    await expect(lookups.isOpen({ tenantId: 't1', departmentId: '', siteId: '', at })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});
