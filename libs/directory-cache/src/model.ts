import {
  openState,
  type ClosingDay,
  type OpenAnswer,
  type OpeningInterval,
  type Schedule,
} from '@switchboard/opening-hours';
import { directoryV1, type directorySnapshotV1 } from '@switchboard/proto';

// One tenant's directory indexed for look-ups, built once from its snapshot: the rules the
// directory's ResolveNumber and IsOpen answer with, and what routing reads per call, in one place.

export interface Resolution {
  number: directoryV1.PhoneNumber;
  /** Whose extension a direct-dial range call reached, if anyone's. */
  staff?: directoryV1.Staff;
}

/** WEEKDAY_MONDAY (1) … WEEKDAY_SUNDAY (7) as opening-hours names the days. */
const DAYS: ReadonlyArray<OpeningInterval['day']> = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Weekly intervals as opening-hours takes them. */
export const openingHoursOf = (intervals: readonly directoryV1.OpeningInterval[]): OpeningInterval[] =>
  intervals.flatMap((interval) => {
    const day = DAYS[interval.day - 1];
    // WEEKDAY_UNSPECIFIED names no day: such an interval opens nothing.
    return day ? [{ day, from: interval.from, to: interval.to }] : [];
  });

/** Hours and closing days of a site or a department, as opening-hours takes them. */
export interface Hours {
  openingHours: readonly OpeningInterval[];
  closingDays: readonly ClosingDay[];
}

const NO_HOURS: Hours = { openingHours: [], closingDays: [] };

/**
 * The hours rule of the directory's IsOpen and of routing's live calls: a department's own hours,
 * or its site's when it has none; the tenant's, the site's and the department's closing days.
 * Without `own` it is the site's schedule.
 */
export function scheduleOf(
  tenant: { federalState: string; timeZone: string; closingDays: readonly ClosingDay[] },
  site: Hours | undefined,
  own: Hours = NO_HOURS,
): Schedule {
  return {
    federalState: tenant.federalState,
    // Empty in the message means Europe/Berlin (directory.proto).
    timeZone: tenant.timeZone || 'Europe/Berlin',
    closingDays: [...tenant.closingDays, ...(site?.closingDays ?? []), ...own.closingDays],
    openingHours: own.openingHours.length > 0 ? own.openingHours : (site?.openingHours ?? []),
  };
}

export class DirectoryModel {
  readonly tenantId: string;
  readonly tenant: directoryV1.Tenant;
  readonly departments: ReadonlyMap<string, directoryV1.Department>;
  readonly sites: ReadonlyMap<string, directoryV1.Site>;
  readonly staffById: ReadonlyMap<string, directoryV1.Staff>;
  readonly staffByExtension: ReadonlyMap<string, directoryV1.Staff>;
  /** Device (PJSIP endpoint name) → its owner. */
  readonly staffByDevice: ReadonlyMap<string, directoryV1.Staff>;
  private readonly exact = new Map<string, directoryV1.PhoneNumber>();
  /** Direct-dial ranges, longest prefix first. */
  private readonly ranges: directoryV1.PhoneNumber[];
  /**
   * Built on first use and kept with the model (which is replaced, never changed): opening-hours
   * keeps its answers per schedule object, so the same object must come back every time.
   */
  private readonly departmentSchedules = new Map<string, Schedule>();
  private readonly siteSchedules = new Map<string, Schedule>();

  constructor(readonly snapshot: directorySnapshotV1.TenantSnapshot) {
    this.tenantId = snapshot.tenantId;
    this.tenant = snapshot.tenant ?? directoryV1.Tenant.fromPartial({ tenantId: snapshot.tenantId });
    const isRange = (number: directoryV1.PhoneNumber) =>
      number.kind === directoryV1.NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE;
    for (const number of snapshot.numbers) if (!isRange(number)) this.exact.set(number.number, number);
    this.ranges = snapshot.numbers.filter(isRange).sort((a, b) => b.number.length - a.number.length);
    this.departments = new Map(snapshot.departments.map((department) => [department.departmentId, department]));
    this.sites = new Map(snapshot.sites.map((site) => [site.siteId, site]));
    this.staffById = new Map(snapshot.staff.map((member) => [member.staffId, member]));
    this.staffByExtension = new Map(snapshot.staff.map((member) => [member.extension, member]));
    this.staffByDevice = new Map(
      snapshot.staff.flatMap((member) => member.devices.map((device): [string, directoryV1.Staff] => [device, member])),
    );
  }

  /** The number a dialled E.164 number reaches: an exact number, else the longest direct-dial range. */
  resolve(dialled: string): Resolution | undefined {
    const number = this.exact.get(dialled);
    if (number) return { number };
    for (const range of this.ranges) {
      if (dialled.length === range.number.length + range.rangeDigits && dialled.startsWith(range.number)) {
        const staff = this.staffByExtension.get(dialled.slice(range.number.length));
        return staff ? { number: range, staff } : { number: range };
      }
    }
    return undefined;
  }

  departmentSchedule(department: directoryV1.Department): Schedule {
    let found = this.departmentSchedules.get(department.departmentId);
    if (!found) {
      found = scheduleOf(this.tenant, this.siteHours(department.siteId), {
        openingHours: openingHoursOf(department.openingHours),
        closingDays: department.closingDays,
      });
      this.departmentSchedules.set(department.departmentId, found);
    }
    return found;
  }

  siteSchedule(site: directoryV1.Site): Schedule {
    let found = this.siteSchedules.get(site.siteId);
    if (!found) {
      found = scheduleOf(this.tenant, this.siteHours(site.siteId));
      this.siteSchedules.set(site.siteId, found);
    }
    return found;
  }

  private siteHours(siteId: string): Hours | undefined {
    const site = this.sites.get(siteId);
    return site && { openingHours: openingHoursOf(site.openingHours), closingDays: site.closingDays };
  }

  departmentOpen(department: directoryV1.Department, at: Date): OpenAnswer {
    return openState(this.departmentSchedule(department), at);
  }

  siteOpen(site: directoryV1.Site, at: Date): OpenAnswer {
    return openState(this.siteSchedule(site), at);
  }
}
