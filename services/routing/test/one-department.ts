import { TenantView } from '../src/tenant-directory.js';

const ALL_WEEK = (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const).map((day) => ({
  day,
  from: '00:00',
  to: '24:00',
}));

/** A tenant open all week with one main number and one department (`standesamt`), for in-process flow tests. */
export function oneDepartmentView(tenantId: string): TenantView {
  return new TenantView(tenantId, {
    tenant: { tenantId, timeZone: 'Europe/Berlin', federalState: 'SH', closingDays: [] },
    sites: [{ siteId: 'rathaus', openingHours: ALL_WEEK, closingDays: [] }],
    numbers: [{ number: '+494624720', kind: 'main', siteId: 'rathaus' }],
    departments: [
      {
        departmentId: 'standesamt',
        name: 'Standesamt',
        siteId: 'rathaus',
        strategy: 'longest-idle',
        requiredSkills: [],
        ringTimeoutSeconds: 20,
        wrapUpSeconds: 0,
        maxWaitSeconds: 0,
        overflow: { kind: 'none', target: '' },
        openingHours: [],
        closingDays: [],
        closedTarget: { kind: 'none', target: '' },
        callbackKey: '',
      },
    ],
    staff: [],
  });
}
