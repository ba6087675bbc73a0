import type { DirectoryRpcClient } from '@switchboard/rpc-clients';
import { DirectoryCache } from '@switchboard/directory-cache';
import { checkOutbound, type OutboundDecision, type OutboundPolicy } from '@switchboard/numbering';
import type { ClosingDay, OpeningInterval, Schedule } from '@switchboard/opening-hours';
import type { Logger } from '@switchboard/service-kit';

// What routing needs of a tenant's directory, kept in memory per tenant: loaded over NATS
// (ExportTenant as JSON) on the tenant's first call and again after each of its change events.
// No per-call request reads MongoDB.

export interface DepartmentSettings {
  departmentId: string;
  name: string;
  siteId: string;
  strategy: 'longest-idle' | 'round-robin' | 'ring-all' | 'skills';
  requiredSkills: string[];
  ringTimeoutSeconds: number;
  wrapUpSeconds: number;
  maxWaitSeconds: number;
  overflow: Target;
  /** Own hours; empty: the site's. */
  openingHours: OpeningInterval[];
  /** Own closing days, besides the tenant's and the site's. */
  closingDays: ClosingDay[];
  /** Where a caller goes while the department is closed. */
  closedTarget: Target;
  /** Key a waiting caller presses for a callback that keeps their place; empty: none. */
  callbackKey: string;
}

export interface Target {
  kind: 'none' | 'department' | 'voicemail' | 'callback';
  /** A department id for `department`; the department whose voicemail box records, for `voicemail`. */
  target: string;
}

export interface StaffMember {
  staffId: string;
  displayName: string;
  extension: string;
  devices: string[];
  siteId: string;
  homeOffice: boolean;
  homeOfficeNumber: string;
}

interface NumberEntry {
  number: string;
  kind: 'main' | 'direct-dial-range' | 'fax';
  siteId: string;
}

interface DirectoryDocument {
  tenant: {
    tenantId: string;
    timeZone: string;
    federalState: string;
    closingDays: ClosingDay[];
    /** Absent in a document of a directory older than the policy: the defaults apply. */
    outboundPolicy?: OutboundPolicy;
  };
  sites: Array<{
    siteId: string;
    openingHours: OpeningInterval[];
    closingDays: ClosingDay[];
    outboundOverride?: OutboundPolicy;
  }>;
  numbers: NumberEntry[];
  departments: DepartmentSettings[];
  staff: StaffMember[];
}

export class TenantView {
  private readonly departments: Map<string, DepartmentSettings>;
  private readonly byExtension: Map<string, StaffMember>;
  private readonly byDevice = new Map<string, StaffMember>();
  /** Built on first use: the view is replaced, never changed, when the directory changes. */
  private readonly schedules = new Map<string, Schedule>();

  constructor(
    readonly tenantId: string,
    private readonly document: DirectoryDocument,
  ) {
    this.departments = new Map(document.departments.map((department) => [department.departmentId, department]));
    this.byExtension = new Map(document.staff.map((member) => [member.extension, member]));
    for (const member of document.staff) for (const device of member.devices) this.byDevice.set(device, member);
  }

  department(departmentId: string): DepartmentSettings | undefined {
    return this.departments.get(departmentId);
  }

  /** A department's hours (its own, else its site's) with the tenant's, the site's and its own closing days. */
  schedule(department: DepartmentSettings): Schedule {
    let found = this.schedules.get(department.departmentId);
    if (!found) {
      const { tenant } = this.document;
      const site = this.document.sites.find((candidate) => candidate.siteId === department.siteId);
      found = {
        federalState: tenant.federalState,
        timeZone: tenant.timeZone,
        closingDays: [...tenant.closingDays, ...(site?.closingDays ?? []), ...department.closingDays],
        openingHours: department.openingHours.length > 0 ? department.openingHours : (site?.openingHours ?? []),
      };
      this.schedules.set(department.departmentId, found);
    }
    return found;
  }

  staffByExtension(extension: string): StaffMember | undefined {
    return this.byExtension.get(extension);
  }

  staffById(staffId: string): StaffMember | undefined {
    return this.document.staff.find((member) => member.staffId === staffId);
  }

  /** The staff member calling from a channel like `PJSIP/kropp-1001-0000002a`, or by their extension. */
  caller(channelName: string, from: string): StaffMember | undefined {
    const device = /^[A-Za-z]+\/(.+)-[0-9a-f]{8}$/.exec(channelName)?.[1];
    return (device ? this.byDevice.get(device) : undefined) ?? this.byExtension.get(from);
  }

  /** The site's main number as caller id; the tenant's first main number when the site has none. */
  callerIdFor(siteId: string): string {
    const mains = this.document.numbers.filter((number) => number.kind === 'main');
    return (mains.find((number) => number.siteId === siteId) ?? mains[0])?.number ?? '';
  }

  /**
   * The tenant's outbound policy for a call to `number` on behalf of `siteId` (the site the leg is
   * tagged and billed with): the site's override when it has one, else the tenant's policy.
   */
  checkOutbound(number: string, siteId: string): OutboundDecision {
    const site = siteId ? this.document.sites.find((candidate) => candidate.siteId === siteId) : undefined;
    return checkOutbound(number, this.document.tenant.outboundPolicy, site?.outboundOverride);
  }

  fallbackDepartment(candidates: readonly string[]): DepartmentSettings | undefined {
    for (const id of candidates) {
      const department = this.departments.get(id);
      if (department) return department;
    }
    return undefined;
  }
}

export class TenantDirectory extends DirectoryCache<TenantView, DirectoryDocument> {
  constructor(rpc: DirectoryRpcClient, logger: Logger) {
    super(rpc, logger, (tenantId, document) => new TenantView(tenantId, document));
  }
}
