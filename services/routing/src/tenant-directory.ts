import type { DirectoryRpcClient } from '@switchboard/rpc-clients';
import { DirectoryCache } from '@switchboard/directory-cache';
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
  overflow: { kind: 'none' | 'department' | 'voicemail' | 'callback'; target: string };
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
  tenant: { tenantId: string; timeZone: string };
  sites: Array<{ siteId: string }>;
  numbers: NumberEntry[];
  departments: DepartmentSettings[];
  staff: StaffMember[];
}

export class TenantView {
  private readonly departments: Map<string, DepartmentSettings>;
  private readonly byExtension: Map<string, StaffMember>;
  private readonly byDevice = new Map<string, StaffMember>();

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
